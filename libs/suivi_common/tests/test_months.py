"""Calendar months (``suivi_common.months``): clamped to month end, leap years, and
``due_through`` exact to the day."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from suivi_common.months import add_months, due_on, due_through


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2025, 8, 31), 6, date(2026, 2, 28)),    # month end, common year
    (date(2027, 8, 31), 6, date(2028, 2, 29)),    # month end, leap year
    (date(2025, 1, 31), 1, date(2025, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2026, 3, 31), 12, date(2027, 3, 31)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),   # a leap day a year on
    (date(2024, 2, 29), 48, date(2028, 2, 29)),
    (date(2025, 5, 31), 1, date(2025, 6, 30)),    # 30-day month
    (date(2025, 3, 15), 36, date(2028, 3, 15)),
    (date(2025, 3, 31), -1, date(2025, 2, 28)),   # backwards, clamped as well
    (date(2025, 1, 15), -1, date(2024, 12, 15)),  # backwards across a year
    (date(2025, 12, 1), 1, date(2026, 1, 1)),     # forwards across a year
    (date(2025, 12, 31), 0, date(2025, 12, 31)),
])
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected
    assert due_on(day, months) == expected


def test_every_day_clamped_onto_a_month_end_is_due_on_it() -> None:
    assert due_through(date(2026, 2, 28), 6) == date(2025, 8, 31)  # 29, 30, 31 Aug too
    assert due_through(date(2026, 2, 27), 6) == date(2025, 8, 27)
    assert due_through(date(2028, 2, 28), 6) == date(2027, 8, 28)  # leap: 29 Feb is later
    assert due_through(date(2028, 2, 29), 6) == date(2027, 8, 31)
    assert due_through(date(2025, 2, 28), 12) == date(2024, 2, 29)
    assert due_through(date(2025, 3, 1), 12) == date(2024, 3, 1)


@pytest.mark.parametrize("months", [1, 6, 12, 36])
def test_due_through_is_the_last_day_due(months: int) -> None:
    """Every day up to ``due_through(today)`` is due today, and the next one is not."""
    today = date(2024, 1, 1)
    while today < date(2026, 1, 1):
        last = due_through(today, months)
        assert due_on(last, months) <= today < due_on(last + timedelta(days=1), months)
        today += timedelta(days=1)


def test_a_period_is_at_least_a_month() -> None:
    with pytest.raises(ValueError):
        due_through(date(2025, 1, 1), 0)
