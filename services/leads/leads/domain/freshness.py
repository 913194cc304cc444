"""Freshness: a lead is only sold while it is recent enough to be worth a call."""

from __future__ import annotations

from datetime import datetime

from leads.domain.timestamps import days_before, require_aware

DEFAULT_MAX_AGE_DAYS = 30


def freshness_cutoff(now: datetime, max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> datetime:
    """Oldest capture instant still fresh (inclusive), for `captured_at >= cutoff` queries."""
    return days_before(now, max_age_days, "max_age_days")


def is_fresh(captured_at: datetime, now: datetime, max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> bool:
    """True when the lead is at most `max_age_days` old (the boundary is fresh).

    A capture time in the future (clock skew) is treated as fresh.
    """
    return require_aware(captured_at, "captured_at") >= freshness_cutoff(now, max_age_days)
