"""French working days (``suivi_common.calendar_fr``), for deadlines extended to the next
working day."""
from __future__ import annotations

from datetime import date, timedelta

from suivi_common.calendar_fr import is_working_day, public_holidays

__all__ = ["is_working_day", "next_working_day_from", "public_holidays"]


def next_working_day_from(day: date) -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day
