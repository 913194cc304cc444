"""The French calendar that moves withdrawal deadlines: every public holiday, movable
feasts included, over several years (late and early Easters), from the ``holidays``
package rather than a hand-written Easter computation."""
from __future__ import annotations

from datetime import date

import pytest

from accounts.domain.calendar_fr import is_working_day, next_working_day_from, public_holidays

# Easter Monday, Ascension, Whit Monday, from published calendars
MOVABLE = {
    2024: (date(2024, 4, 1), date(2024, 5, 9), date(2024, 5, 20)),
    2025: (date(2025, 4, 21), date(2025, 5, 29), date(2025, 6, 9)),
    2026: (date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25)),
    2027: (date(2027, 3, 29), date(2027, 5, 6), date(2027, 5, 17)),
    2028: (date(2028, 4, 17), date(2028, 5, 25), date(2028, 6, 5)),
    2029: (date(2029, 4, 2), date(2029, 5, 10), date(2029, 5, 21)),
    2030: (date(2030, 4, 22), date(2030, 5, 30), date(2030, 6, 10)),
    2038: (date(2038, 4, 26), date(2038, 6, 3), date(2038, 6, 14)),  # Easter on 25 April
}
FIXED = ((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25))


@pytest.mark.parametrize("year", sorted(MOVABLE))
def test_the_eleven_public_holidays_of_a_year(year: int) -> None:
    expected = {date(year, m, d) for m, d in FIXED} | set(MOVABLE[year])
    assert public_holidays(year) == expected


@pytest.mark.parametrize("year", sorted(MOVABLE))
def test_no_public_holiday_is_a_working_day(year: int) -> None:
    assert not any(is_working_day(day) for day in public_holidays(year))


def test_working_days_are_weekdays_that_are_not_holidays() -> None:
    assert is_working_day(date(2026, 7, 15))       # a Wednesday
    assert not is_working_day(date(2026, 7, 14))   # Bastille Day, a Tuesday
    assert not is_working_day(date(2026, 7, 18))   # a Saturday


def test_a_deadline_on_a_holiday_moves_to_the_next_working_day() -> None:
    assert next_working_day_from(date(2026, 5, 1)) == date(2026, 5, 4)    # Friday 1 May
    assert next_working_day_from(date(2026, 5, 23)) == date(2026, 5, 26)  # past Whit Monday
    assert next_working_day_from(date(2026, 12, 24)) == date(2026, 12, 24)
