"""One month later, ending on the month's last day when the day does not exist there."""
from __future__ import annotations

from datetime import date

import pytest

from compliance.domain.calendar import add_months


@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
    (date(2026, 1, 15), 1, date(2026, 2, 15)),
    (date(2026, 3, 31), 1, date(2026, 4, 30)),
    (date(2026, 12, 31), 1, date(2027, 1, 31)),
    (date(2026, 11, 30), 3, date(2027, 2, 28)),
    (date(2026, 1, 31), 3, date(2026, 4, 30)),
    (date(2026, 5, 10), 0, date(2026, 5, 10)),
])
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_negative_months_are_refused() -> None:
    with pytest.raises(ValueError):
        add_months(date(2026, 1, 1), -1)
