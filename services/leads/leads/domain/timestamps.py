"""Timestamp helpers: the domain only ever compares timezone-aware datetimes.

Naive datetimes are refused because comparing a naive "local" time with a UTC
time silently shifts windows (freshness, duplicates, refund delay) by hours.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from suivi_common.errors import Invalid


def require_aware(value: datetime, name: str) -> datetime:
    """Return `value` unchanged, or raise ValueError if it is not a tz-aware datetime."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value


def days_before(now: datetime, days: int, name: str) -> datetime:
    """``days`` (named ``name``, a setting: positive) before the aware ``now``."""
    require_aware(now, "now")
    if days <= 0:
        raise ValueError(f"{name} must be positive")
    return now - timedelta(days=days)


def parse_aware_datetime(raw: str) -> datetime:
    """Parse an ISO-8601 timestamp that carries an offset ('Z' accepted).

    Raises ValueError when the text is not ISO-8601 or has no offset: a consent
    timestamp is legal evidence and must not be ambiguous.
    """
    text = raw.strip()
    if not text or len(text) > 40:
        raise ValueError("not an ISO-8601 timestamp")
    parsed = datetime.fromisoformat(text.replace("z", "Z"))
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("timestamp must include a timezone offset")
    return parsed


def age_on(birth: date, today: date) -> int:
    """Whole years between `birth` and `today` (birthday not yet reached counts one less)."""
    years = today.year - birth.year
    if (today.month, today.day) < (birth.month, birth.day):
        years -= 1
    return years


def parse_day(value: object, field: str = "date") -> date:
    """A calendar day from a date or ``YYYY-MM-DD``; Invalid naming ``field`` otherwise."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid("Invalid date", fields={field: "expected YYYY-MM-DD"}) from None
