"""One-time tokens that let a user choose a password: sent by email on invitation and
on reset. Stored hashed, valid 72 h (configurable), used once; issuing a new one
voids the older ones, so only the latest email works."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Row

from accounts.domain import sessions as tokens
from accounts.models import password_tokens
from accounts.usecases.context import Ctx
from accounts.usecases.users import Profile, iso

INVITATION = "invitation"
RESET = "reset"


def issue(ctx: Ctx, user_id: uuid.UUID, purpose: str, now: datetime) -> tuple[str, datetime]:
    ctx.session.execute(update(password_tokens).where(
        password_tokens.c.user_id == user_id, password_tokens.c.used_at.is_(None),
        password_tokens.c.revoked_at.is_(None)).values(revoked_at=now))
    token = tokens.new_token()
    expires_at = now + ctx.settings.password_token_ttl
    ctx.session.execute(password_tokens.insert().values(
        id=uuid.uuid4(), user_id=user_id, token_hash=tokens.token_hash(token), purpose=purpose,
        created_at=now, expires_at=expires_at))
    return token, expires_at


def latest_issued_at(ctx: Ctx, user_id: uuid.UUID) -> datetime | None:
    t = password_tokens.c
    return ctx.session.execute(select(t.created_at).where(t.user_id == user_id)
                               .order_by(t.created_at.desc()).limit(1)).scalar()


def find_usable(ctx: Ctx, token: str, now: datetime) -> Row | None:
    """The token's row, locked, if it is unused, not voided and not expired."""
    row = ctx.session.execute(select(password_tokens).where(
        password_tokens.c.token_hash == tokens.token_hash(token)).with_for_update()).first()
    if row is None or row.used_at or row.revoked_at or tokens.one_time_token_expired(now, row.expires_at):
        return None
    return row


def mark_used(ctx: Ctx, token_id: uuid.UUID, now: datetime) -> None:
    ctx.session.execute(update(password_tokens).where(password_tokens.c.id == token_id)
                        .values(used_at=now))


def email_payload(ctx: Ctx, user: Row, prof: Profile, token: str, expires_at: datetime) -> dict[str, Any]:
    """Payload of ``user_invited`` / ``password_reset_requested``: what the mailer needs.
    The one-time token is in the link (that is how the email works); never a password."""
    return {"user_id": str(user.id), "network_id": str(user.network_id) if user.network_id else None,
            "email": prof.email, "first_name": prof.first_name,
            "set_password_url": ctx.settings.set_password_url(token), "expires_at": iso(expires_at)}
