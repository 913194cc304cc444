"""Date <-> plain value helpers for the entities' to_dict/from_dict.

Entities persist as JSON-ready dicts (ISO dates as strings) so the persistence
layer and RPC payloads need no custom encoder.
"""

from __future__ import annotations

from datetime import date


def date_to_plain(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def date_from_plain(value: object) -> date | None:
    """Accept an ISO string or a date (a DB driver may already hand back dates)."""
    if value is None:
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise TypeError(f"expected an ISO date, got {type(value).__name__}")


def required_date(value: object) -> date:
    parsed = date_from_plain(value)
    if parsed is None:
        raise TypeError("expected an ISO date, got None")
    return parsed
