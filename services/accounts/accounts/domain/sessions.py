"""Session tokens: opaque random strings, only their SHA-256 is stored, so a copy of
the database lets nobody log in. A session dies when idle too long, when too old
whatever the activity (a stolen token is useful for a bounded time), or when revoked
(logout, password change, suspension).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

TOUCH_EVERY = timedelta(minutes=1)


class SessionState(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta


def new_token() -> str:
    return secrets.token_urlsafe(32)


def link_token(key: bytes, link_ref: str) -> str:
    """The one-time token of a set-password link, derived from its reference: accounts can
    rebuild it whenever the mailer asks for the link (a retried send gets the same working
    link), while the reference alone, which is all an event carries, opens nothing."""
    mac = hmac.new(key, b"password-link:" + link_ref.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def absolute_expiry(created_at: datetime, policy: SessionPolicy) -> datetime:
    return created_at + policy.absolute


def state(now: datetime, last_used_at: datetime, expires_at: datetime,
          revoked_at: datetime | None, policy: SessionPolicy) -> SessionState:
    if revoked_at is not None:
        return SessionState.REVOKED
    if now >= expires_at or now - last_used_at >= policy.idle:
        return SessionState.EXPIRED
    return SessionState.VALID


def needs_touch(now: datetime, last_used_at: datetime) -> bool:
    """Refresh ``last_used_at`` at most once a minute: no write on every request.
    The idle timeout is therefore accurate to one minute."""
    return now - last_used_at >= TOUCH_EVERY


def one_time_token_expired(now: datetime, expires_at: datetime) -> bool:
    return now >= expires_at


def link_ttl(is_reset: bool, invitation_ttl: timedelta, reset_ttl: timedelta) -> timedelta:
    """How long a set-password link lasts: a reset's is short (its owner asked for it a
    moment ago), an invitation's long (the invited person reads it when they can)."""
    return reset_ttl if is_reset else invitation_ttl
