"""The one platform clock.

Every date rule (business days, day close, 30-day plans, retention, token expiry)
reads time from here so tests and the dev endpoint can move it. The clock is an
offset against real time (time keeps running, as on a live platform) or, for
unit tests, a frozen instant.
"""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

_lock = threading.Lock()
_offset = timedelta(0)
_frozen: datetime | None = None


def _real_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """Current instant, timezone-aware UTC."""
    if _frozen is not None:
        return _frozen
    return _real_now() + _offset


def paris_now() -> datetime:
    return now().astimezone(PARIS)


def today() -> date:
    """The platform's calendar day: business rules count days in Europe/Paris."""
    return paris_now().date()


def set_now(instant: datetime) -> None:
    """Move the clock so that it reads ``instant`` now and keeps running."""
    global _offset, _frozen
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    with _lock:
        _frozen = None
        _offset = instant - _real_now()


def set_offset(offset_seconds: float) -> None:
    global _offset, _frozen
    with _lock:
        _frozen = None
        _offset = timedelta(seconds=offset_seconds)


def offset_seconds() -> float:
    return _offset.total_seconds()


def freeze(instant: datetime) -> None:
    """Stop the clock at ``instant`` (unit tests)."""
    global _frozen
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    with _lock:
        _frozen = instant


def advance(delta: timedelta) -> None:
    global _frozen, _offset
    with _lock:
        if _frozen is not None:
            _frozen = _frozen + delta
        else:
            _offset = _offset + delta


def reset() -> None:
    global _offset, _frozen
    with _lock:
        _offset = timedelta(0)
        _frozen = None


def paris_midnight(day: date) -> datetime:
    """The instant a Paris calendar day starts, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=PARIS).astimezone(UTC)
