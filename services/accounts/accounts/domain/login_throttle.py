"""Login rate limiting: when a further attempt is refused and for how long.

Failures are counted per account (keyed by the email's blind index, so unknown
emails are throttled exactly like known ones and reveal nothing) and per client
IP. An attempt is refused while ``limit`` failures lie inside the sliding
window; it becomes possible again when the oldest of those leaves the window.
A success clears the account's failures (they must be *consecutive*), never the
IP's, or one valid account would unlock guessing on all the others. Refused
attempts are not recorded as failures: an attacker cannot keep a victim locked
out beyond the window by hammering it.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Limit:
    max_failures: int
    window: timedelta


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # whole seconds, >= 1 when refused


ALLOWED = Decision(True)


def decide(failures: Sequence[datetime], now: datetime, limit: Limit) -> Decision:
    """Is one more attempt allowed, given the failure instants of one key?"""
    recent = sorted(f for f in failures if now - f < limit.window)
    if len(recent) < limit.max_failures:
        return ALLOWED
    # The attempt is allowed once only max_failures - 1 failures remain in the window.
    pivot = recent[len(recent) - limit.max_failures]
    wait = (pivot + limit.window - now).total_seconds()
    return Decision(False, max(1, math.ceil(wait)))


def combine(*decisions: Decision) -> Decision:
    """Refused if any key refuses; wait for the longest."""
    refused = [d for d in decisions if not d.allowed]
    if not refused:
        return ALLOWED
    return Decision(False, max(d.retry_after for d in refused))
