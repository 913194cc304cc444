"""Month arithmetic for legal deadlines (GDPR art. 12(3): one month, extendable by two).

A month later is the same day number of the target month, or that month's last day when
the day does not exist there: 31 January + 1 month = 28 February (29 in a leap year).
"""
from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    if months < 0:
        raise ValueError("months must not be negative")
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
