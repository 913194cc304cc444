"""Date periods given by users and staff (absences, claims, closures)."""

from __future__ import annotations

from datetime import date

from suivi_common.errors import Invalid


def check_dates_order(start_date: date, end_date: date, code: str) -> None:
    """A period ends on or after its first day (400 naming both fields)."""
    if start_date > end_date:
        raise Invalid(
            "The period must end on or after its first day",
            fields={
                "start_date": "must be on or before end_date",
                "end_date": "must be on or after start_date",
            },
            code=code,
        )
