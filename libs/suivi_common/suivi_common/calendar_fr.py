"""French public holidays, the one calendar of the terms' working days ("jours ouvrés"):
the ``holidays`` package's metropolitan list."""
from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("FR", years=year))


def is_working_day(day: date) -> bool:
    """Monday to Friday, except French public holidays."""
    return day.weekday() < 5 and day not in public_holidays(day.year)
