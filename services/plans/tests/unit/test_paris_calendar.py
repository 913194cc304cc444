from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from plans.domain.paris_calendar import date_span, previous_business_day, quarter_of
from suivi_common import clock
from suivi_common.calendar_fr import is_working_day, public_holidays


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 6, 1), True),  # Monday
        (date(2026, 6, 5), True),  # Friday
        (date(2026, 6, 6), False),  # Saturday
        (date(2026, 6, 7), False),  # Sunday
        (date(2026, 11, 11), False),  # Armistice, a Wednesday
        (date(2026, 7, 14), False),  # Bastille Day, a Tuesday
        (date(2026, 5, 14), False),  # Ascension, a Thursday
        (date(2026, 5, 25), False),  # Whit Monday
        (date(2026, 11, 10), True),
    ],
)
def test_business_days_are_weekdays_minus_french_holidays(day: date, expected: bool) -> None:
    assert is_working_day(day) is expected


def test_public_holiday_lookup() -> None:
    assert date(2026, 12, 25) in public_holidays(2026)
    assert date(2026, 12, 24) not in public_holidays(2026)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 6, 8), date(2026, 6, 5)),  # Monday -> previous Friday
        (date(2026, 6, 9), date(2026, 6, 8)),  # Tuesday -> Monday
        (date(2026, 6, 7), date(2026, 6, 5)),  # Sunday -> Friday
        (date(2026, 11, 12), date(2026, 11, 10)),  # Thursday after the 11 Nov holiday
        (date(2026, 5, 26), date(2026, 5, 22)),  # Tuesday after Whit Monday
        (date(2026, 1, 5), date(2026, 1, 2)),  # Monday; Friday 2 Jan is a business day
        (date(2026, 1, 2), date(2025, 12, 31)),  # Friday after New Year's Day
    ],
)
def test_previous_business_day(day: date, expected: date) -> None:
    assert previous_business_day(day) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 1), (2026, 1)),
        (date(2026, 3, 31), (2026, 1)),
        (date(2026, 4, 1), (2026, 2)),
        (date(2026, 9, 30), (2026, 3)),
        (date(2026, 12, 31), (2026, 4)),
    ],
)
def test_quarter_of(day: date, expected: tuple[int, int]) -> None:
    assert quarter_of(day) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 6, 1, 21, 59, tzinfo=UTC), date(2026, 6, 1)),  # 23:59 CEST
        (datetime(2026, 6, 1, 22, 0, tzinfo=UTC), date(2026, 6, 2)),  # 00:00 CEST
        (datetime(2026, 1, 1, 22, 59, tzinfo=UTC), date(2026, 1, 1)),  # 23:59 CET
        (datetime(2026, 1, 1, 23, 0, tzinfo=UTC), date(2026, 1, 2)),  # 00:00 CET
        (datetime(2026, 6, 2, 1, 0, tzinfo=timezone(timedelta(hours=5))), date(2026, 6, 1)),
    ],
)
def test_today_is_the_paris_calendar_day(moment: datetime, expected: date) -> None:
    clock.freeze(moment)
    try:
        assert clock.today() == expected
    finally:
        clock.reset()


def test_date_span_is_inclusive_and_empty_when_reversed() -> None:
    assert date_span(date(2026, 6, 1), date(2026, 6, 3)) == [
        date(2026, 6, 1),
        date(2026, 6, 2),
        date(2026, 6, 3),
    ]
    assert date_span(date(2026, 6, 1), date(2026, 6, 1)) == [date(2026, 6, 1)]
    assert date_span(date(2026, 6, 2), date(2026, 6, 1)) == []
