"""Retention arithmetic (``domain.retention``): calendar months, clamped to month end,
exact to the day."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from leads.domain.retention import add_months, due_on, due_through


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2025, 8, 31), 6, date(2026, 2, 28)),
    (date(2027, 8, 31), 6, date(2028, 2, 29)),
    (date(2025, 1, 31), 1, date(2025, 2, 28)),
    (date(2025, 3, 15), 36, date(2028, 3, 15)),
    (date(2025, 3, 31), -1, date(2025, 2, 28)),
    (date(2025, 12, 1), 1, date(2026, 1, 1)),
])
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


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
