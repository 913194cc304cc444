"""Calendar days as the terms count them: French business days, quarters, spans.

Days are Europe/Paris days (``suivi_common.clock.today``). The notice rule for planned
absences ("au moins 1 jour ouvré") counts French business days: the platform's one
calendar, ``suivi_common.calendar_fr``.
"""

from __future__ import annotations

from datetime import date, timedelta

from suivi_common.calendar_fr import is_working_day

ONE_DAY = timedelta(days=1)


def previous_business_day(day: date) -> date:
    """The last business day strictly before ``day``."""
    candidate = day - ONE_DAY
    while not is_working_day(candidate):
        candidate -= ONE_DAY
    return candidate


def quarter_of(day: date) -> tuple[int, int]:
    """(year, quarter 1-4) of a day."""
    return day.year, (day.month - 1) // 3 + 1


def date_span(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end`` inclusive (empty when start > end)."""
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
