"""Login throttling: a growing delay, never a lock that an attacker controls (ASVS 6.3.1).

The rule, exactly. Failed attempts are counted under three keys:

* the *address*: every failure from the client's address (``TRUSTED_PROXIES`` decides which
  address that is, so a proxy in front is not one address for everybody);
* the *account*: every failure on the account, from any address (keyed by the email's
  blind index, so an unknown email is counted exactly like a known one and reveals nothing);
* the *account at this address*: the failures on the account from this address (only their
  latest instant is used, see below).

Only failures inside the sliding window (``LOGIN_WINDOW_MINUTES``, 60) count. A key with
``n`` failures there, at or past its free allowance ``F``, asks for a wait of
``min(max_delay, base * 2 ** (n - F))``: 1 s, 2 s, 4 s... up to ``LOGIN_MAX_DELAY_SECONDS``
(60). An attempt is allowed once every key's wait has passed since the instant it runs from:

* the address's wait runs from the address's latest failure (``F`` =
  ``LOGIN_MAX_IP_FAILURES``, 30);
* the account's wait runs from *this address's* latest failure on the account, and holds
  back only an address that has failed on the account inside the window (``F`` =
  ``LOGIN_MAX_ACCOUNT_FAILURES``, 5).

A refused attempt is answered ``429`` with ``Retry-After`` (the longest wait left, whole
seconds, at least 1) and is not counted as a failure. A successful login clears the account's
failures and this address's on it, never the address's own (one valid account must not
unlock guessing on the others). Setting a password from an emailed link clears the
account's failures.

What this guarantees:

* No lock. Every wait is at most ``max_delay`` after the waiting address's own latest
  failure; nothing anyone else does can keep an address out longer.
* Another address's failures never hold back an address's first attempt on an account. An
  attacker hammering a victim's account delays only the attacker; the victim, from their own
  address, logs in at once, and after a mistype waits at most ``max_delay``.
* Guessing is slow. One address gets at most about ``F + log2(max_delay) + window /
  max_delay`` failures per window: 5 + 6 + 60 = 71 an hour on one account, 30 + 6 + 60 = 96
  an hour over all accounts (spraying). Many addresses together get that each: a distributed
  guess is bounded per address, not per account, which is the price of never locking a
  victim out; the password rules (length, the common-password list) are the defence there.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_DOUBLINGS = 30  # 2 ** 30 seconds is far past any cap; bounds the arithmetic


@dataclass(frozen=True)
class Limit:
    """One key's allowance: ``free`` failures in ``window``, then doubling waits from
    ``base`` up to ``max_delay``."""

    free: int
    window: timedelta
    max_delay: timedelta = timedelta(seconds=60)
    base: timedelta = timedelta(seconds=1)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # whole seconds, >= 1 when refused


ALLOWED = Decision(True)


def recent(failures: Sequence[datetime], now: datetime, limit: Limit) -> list[datetime]:
    return [f for f in failures if now - f < limit.window]


def delay(count: int, limit: Limit) -> timedelta:
    """The wait ``count`` failures in the window ask for."""
    if count < limit.free:
        return timedelta(0)
    doublings = min(count - limit.free, MAX_DOUBLINGS)
    wait: timedelta = limit.base * (2 ** doublings)
    return min(limit.max_delay, wait)


def decide(failures: Sequence[datetime], now: datetime, limit: Limit,
           since: datetime | None = None) -> Decision:
    """May one more attempt go, given one key's failure instants? The wait runs from
    ``since`` when given (the account key: this address's latest failure on it), else from
    the key's own latest failure."""
    counted = recent(failures, now, limit)
    wait = delay(len(counted), limit)
    start = since if since is not None else max(counted, default=None)
    if not wait or start is None:
        return ALLOWED
    left = (start + wait - now).total_seconds()
    if left <= 0:
        return ALLOWED
    return Decision(False, max(1, math.ceil(left)))


def combine(*decisions: Decision) -> Decision:
    """Refused if any key refuses; wait for the longest."""
    refused = [d for d in decisions if not d.allowed]
    if not refused:
        return ALLOWED
    return Decision(False, max(d.retry_after for d in refused))


def decide_attempt(address_failures: Sequence[datetime], account_failures: Sequence[datetime],
                   here_failures: Sequence[datetime], now: datetime, address_limit: Limit,
                   account_limit: Limit) -> Decision:
    """The whole rule for one attempt (see the module's docstring): the address's own wait,
    and the account's wait counted from this address's latest failure on it, if any."""
    by_address = decide(address_failures, now, address_limit)
    latest_here = max(recent(here_failures, now, account_limit), default=None)
    if latest_here is None:
        return by_address
    return combine(by_address, decide(account_failures, now, account_limit, since=latest_here))
