"""The stale-lead reminder's calendar (``domain.stale_leads``): who is stale today, which
month a run belongs to, and that a month has one run."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from leads.domain.stale_leads import inactive_since, month_of, run_due
from suivi_common.months import add_months


@pytest.mark.parametrize(("today", "months", "expected"), [
    (date(2026, 12, 1), 12, date(2025, 12, 2)),   # active on 1 Dec 2025: 12 months today
    (date(2026, 3, 15), 12, date(2025, 3, 16)),
    (date(2026, 2, 28), 12, date(2025, 3, 1)),    # 28 Feb 2025 + 12 months = 28 Feb 2026
    (date(2028, 2, 29), 12, date(2027, 3, 1)),    # leap day: 28 Feb 2027 is due today
    (date(2026, 2, 28), 6, date(2025, 9, 1)),     # 29, 30, 31 August are all due on 28 Feb
    (date(2026, 1, 31), 1, date(2026, 1, 1)),
])
def test_inactive_since(today, months, expected):
    assert inactive_since(today, months) == expected


@pytest.mark.parametrize("months", [1, 6, 12, 24])
def test_a_lead_is_stale_exactly_n_months_after_its_last_activity(months):
    """Last active on day D: stale from D + N months (clamped), never a day earlier."""
    day = date(2024, 1, 1)
    while day < date(2025, 6, 1):
        stale_from = add_months(day, months)
        assert day < inactive_since(stale_from, months)           # stale that day
        assert day >= inactive_since(stale_from - timedelta(days=1), months)  # not before
        day += timedelta(days=1)


def test_a_period_is_at_least_a_month():
    with pytest.raises(ValueError):
        inactive_since(date(2026, 1, 1), 0)


def test_month_of_is_the_first_day():
    assert month_of(date(2026, 12, 31)) == date(2026, 12, 1)
    assert month_of(date(2026, 12, 1)) == date(2026, 12, 1)


@pytest.mark.parametrize(("today", "last", "due"), [
    (date(2026, 12, 1), None, True),                 # never ran
    (date(2026, 12, 1), date(2026, 11, 1), True),    # the month's first day
    (date(2026, 11, 30), date(2026, 11, 1), False),  # the month's last day: already done
    (date(2026, 12, 1), date(2026, 12, 1), False),   # a second tick of the day
    (date(2026, 12, 20), date(2026, 12, 1), False),
    (date(2027, 1, 1), date(2026, 12, 1), True),     # across the year
    (date(2026, 10, 5), date(2026, 12, 1), False),   # a clock moved back never re-runs
    (date(2027, 3, 4), date(2026, 12, 1), True),     # months missed: the current one runs
])
def test_run_due(today, last, due):
    assert run_due(today, last) is due
