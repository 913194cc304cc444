"""Calendar months on plain dates: the one arithmetic of every "N months after" rule
(retention in accounts and leads), so that two services cannot disagree on a month end.

A month later is the same day number of the target month, or that month's last day when
the day does not exist there: 31 August + 6 months is 28 February (29 in a leap year),
29 February + 12 months is 28 February. Several days can so fall due on one month end;
``due_through`` counts them all.
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(day: date, months: int) -> date:
    """``day`` + ``months`` calendar months (negative goes back), clamped to month end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def due_on(day: date, months: int) -> date:
    """The day a record of ``day`` (an end, a capture) falls due ``months`` later."""
    return add_months(day, months)


def due_through(today: date, months: int) -> date:
    """The last day D with ``due_on(D, months) <= today``: every day up to it is due
    today, none after (a retention period is at least one month)."""
    if months < 1:
        raise ValueError("a retention period is at least one month")
    candidate = add_months(today, -months)
    # clamping maps several days onto one month end: the later ones are due as well
    while due_on(candidate + timedelta(days=1), months) <= today:
        candidate += timedelta(days=1)
    return candidate
