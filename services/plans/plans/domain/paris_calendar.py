"""Calendar days as the terms count them: Europe/Paris days, French business days.

The notice rule for planned absences ("au moins 1 jour ouvré") needs French
public holidays, taken from the ``holidays`` package (metropolitan FR list).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

PARIS = ZoneInfo("Europe/Paris")
ONE_DAY = timedelta(days=1)


def paris_date(moment: datetime) -> date:
    """The Paris calendar day of an instant; naive datetimes are refused (ambiguous)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(PARIS).date()


@lru_cache(maxsize=64)
def _french_public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("FR", years=year))


def is_public_holiday(day: date) -> bool:
    return day in _french_public_holidays(day.year)


def is_business_day(day: date) -> bool:
    """Monday to Friday, except French public holidays."""
    return day.weekday() < 5 and not is_public_holiday(day)


def previous_business_day(day: date) -> date:
    """The last business day strictly before ``day``."""
    candidate = day - ONE_DAY
    while not is_business_day(candidate):
        candidate -= ONE_DAY
    return candidate


def quarter_of(day: date) -> tuple[int, int]:
    """(year, quarter 1-4) of a day."""
    return day.year, (day.month - 1) // 3 + 1


def date_span(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end`` inclusive (empty when start > end)."""
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
