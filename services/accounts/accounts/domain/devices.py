"""What a session remembers of the login that opened it (shown in the user's list of
sessions, so they can tell a login of theirs from someone else's), and which sessions the
list shows. Plain rules; the use cases encrypt and store."""
from __future__ import annotations

import unicodedata
from datetime import datetime

from accounts.domain.sessions import SessionPolicy, SessionState, state

MAX_IP_LENGTH = 64
MAX_USER_AGENT_LENGTH = 400


def clean_ip(value: object) -> str | None:
    """The client address the gateway determined, bounded; None when unknown."""
    if not isinstance(value, str) or not value.strip() or value.strip() == "unknown":
        return None
    return value.strip()[:MAX_IP_LENGTH]


def clean_user_agent(value: object) -> str | None:
    """A client's ``User-Agent``: free text it chose, so control characters are dropped and
    the length bounded (it is only ever shown back to the same user)."""
    if not isinstance(value, str):
        return None
    kept = "".join(ch for ch in value if not unicodedata.category(ch).startswith("C")).strip()
    return kept[:MAX_USER_AGENT_LENGTH] or None


def is_live(now: datetime, last_used_at: datetime, expires_at: datetime,
            revoked_at: datetime | None, policy: SessionPolicy) -> bool:
    """A session the user can still use, hence one their list shows and they may revoke."""
    return state(now, last_used_at, expires_at, revoked_at, policy) is SessionState.VALID
