"""The user's sessions: opening one at login (with where it came from, encrypted), the
list of the live ones and revoking them (one, or all but the caller's).

Which session is the caller's is told by its token (the gateway forwards the bearer token,
as for a logout): accounts hashes it and compares, so a caller can neither pick another
session as "current" nor reach another user's sessions, whose ids are NotFound (art. 10.A).
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult, Row

from accounts.domain import devices
from accounts.domain import sessions as tokens
from accounts.models import sessions
from accounts.usecases.context import Ctx
from accounts.usecases.users import actor, iso, scope_of
from suivi_common import clock, paging
from suivi_common.errors import NotFound
from suivi_common.ids import parse_uuid

CURSOR_KIND = "sessions"


def open_session(ctx: Ctx, user: Row, now: datetime, ip: object = None,
                 user_agent: object = None) -> tuple[str, datetime]:
    """A new session of ``user``; returns its token (only its hash is stored) and expiry."""
    session_id = uuid.uuid4()
    scope = scope_of(user.network_id)
    token = tokens.new_token()
    expires_at = tokens.absolute_expiry(now, ctx.settings.session_policy)
    ctx.session.execute(sessions.insert().values(
        id=session_id, user_id=user.id, token_hash=tokens.token_hash(token), created_at=now,
        last_used_at=now, expires_at=expires_at,
        ip=ctx.vault.encrypt(scope, "sessions", "ip", session_id, devices.clean_ip(ip)),
        user_agent=ctx.vault.encrypt(scope, "sessions", "user_agent", session_id,
                                     devices.clean_user_agent(user_agent))))
    return token, expires_at


def _current_hash(token: object) -> bytes | None:
    return tokens.token_hash(token) if isinstance(token, str) and token else None


def _live(ctx: Ctx, row: Row, now: datetime) -> bool:
    return devices.is_live(now, row.last_used_at, row.expires_at, row.revoked_at,
                           ctx.settings.session_policy)


def list_sessions(ctx: Ctx, token: object, cursor: str | None = None,
                  limit: int | None = None) -> dict[str, Any]:
    """The caller's live sessions, newest first, the caller's own marked ``current``."""
    me = actor(ctx)
    size = paging.check_limit(limit)
    now = clock.now()
    s = sessions.c
    # the cheap bounds in SQL (revoked, past the absolute expiry, idle too long); the
    # domain rule decides on what is left
    query = select(sessions).where(
        s.user_id == me.id, s.revoked_at.is_(None), s.expires_at > now,
        s.last_used_at > now - ctx.settings.session_policy.idle)
    rows = ctx.session.execute(paging.keyset(query, sessions, cursor, size, newest_first=True,
                                             kind=CURSOR_KIND)).all()
    current = _current_hash(token)
    scope = scope_of(me.network_id)

    def item(row: Row) -> dict[str, Any]:
        return {"id": str(row.id), "created_at": iso(row.created_at),
                "last_used_at": iso(row.last_used_at), "expires_at": iso(row.expires_at),
                "ip": ctx.vault.decrypt(scope, "sessions", "ip", row.id, row.ip),
                "user_agent": ctx.vault.decrypt(scope, "sessions", "user_agent", row.id,
                                                row.user_agent),
                "current": row.token_hash == current}

    shown = [r for r in rows[:size] if _live(ctx, r, now)]
    return paging.page(rows, size, [item(r) for r in shown], kind=CURSOR_KIND)


def revoke_session(ctx: Ctx, session_id: object) -> dict[str, Any]:
    """Revoke one live session of the caller's (their own current one too: a logout).
    Another user's session, a dead one or a malformed id is NotFound."""
    me = actor(ctx)
    sid = parse_uuid(session_id)
    row = ctx.session.execute(select(sessions).where(
        sessions.c.id == sid, sessions.c.user_id == me.id).with_for_update()).first() \
        if sid else None
    now = clock.now()
    if row is None or not _live(ctx, row, now):
        raise NotFound("No such session", code="session_not_found")
    ctx.session.execute(update(sessions).where(sessions.c.id == row.id).values(revoked_at=now))
    return {"revoked": 1}


def revoke_other_sessions(ctx: Ctx, user_id: uuid.UUID, token: object, now: datetime) -> int:
    """Revoke every session of ``user_id`` but the one ``token`` opened; how many."""
    s = sessions.c
    query = update(sessions).where(s.user_id == user_id, s.revoked_at.is_(None))
    current = _current_hash(token)
    if current is not None:
        query = query.where(s.token_hash != current)
    result = cast("CursorResult[Any]", ctx.session.execute(query.values(revoked_at=now)))
    return max(0, result.rowcount or 0)


def revoke_others(ctx: Ctx, token: object) -> dict[str, Any]:
    """The caller's "log out everywhere else"."""
    me = actor(ctx)
    return {"revoked": revoke_other_sessions(ctx, me.id, token, clock.now())}
