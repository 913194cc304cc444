"""The daily-quota formula, shared by quotes, plans and the demand forecast."""

from __future__ import annotations


def daily_quota(remaining: int, delivery_days: int) -> int:
    """ceil(remaining / delivery_days).

    Rounding up front-loads the plan slightly, so taking every quota always
    delivers the whole order by the last delivery day.
    """
    if remaining <= 0:
        return 0
    if delivery_days <= 0:
        raise ValueError("records remain but no delivery day is left")
    return -(-remaining // delivery_days)
