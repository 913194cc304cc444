"""Month arithmetic for legal deadlines (GDPR art. 12(3): one month, extendable by two).

A month later is the same day number of the target month, or that month's last day when
the day does not exist there: 31 January + 1 month = 28 February (29 in a leap year);
the platform's one month arithmetic (``suivi_common.months``), forwards only.
"""
from __future__ import annotations

from datetime import date

from suivi_common import months as calendar_months


def add_months(day: date, months: int) -> date:
    if months < 0:
        raise ValueError("months must not be negative")
    return calendar_months.add_months(day, months)
