"""One-time tokens that let a user choose a password: sent by email on invitation and
on reset. Stored hashed, used once; an invitation's is valid 72 h
(``PASSWORD_TOKEN_HOURS``), a reset's 1 h (``PASSWORD_RESET_TTL_SECONDS``: a reset link
in a mailbox someone else reads is a takeover, and its owner is waiting for it); issuing
a new one voids the older ones, so only the latest email works. An email change's link
(``EMAIL_CHANGE``, 1 h like a reset) is one of them too, holding the new address.

The token never travels in an event (nor, therefore, in a dead letter): ``user_invited``
and ``password_reset_requested`` carry the link's reference (its row id). When it sends,
the mailer asks accounts for the link (``password_link``, an RPC only the mailer may
call), and accounts derives the token from the reference with a key of its own (from
the master key), checks the row is still usable, and answers the URL. Deriving instead of
storing means every fetch of one reference, retries included, yields the same working
link, and only the token's hash is ever stored."""
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
from suivi_common.errors import Conflict
from suivi_common.ids import parse_uuid

INVITATION = "invitation"
RESET = "reset"
EMAIL_CHANGE = "email_change"  # confirms a new address (``usecases.email_change``)
SET_PASSWORD = (INVITATION, RESET)
LINK_KEY_PURPOSE = "accounts:password-links"


def _token_of(ctx: Ctx, link_ref: str) -> str:
    return tokens.link_token(ctx.vault.subkey(LINK_KEY_PURPOSE), link_ref)


def issue(ctx: Ctx, user_id: uuid.UUID, purpose: str, now: datetime,
          new_email: str | None = None, scope: str | None = None) -> tuple[str, datetime]:
    """A new link for the user (the older ones stop working); returns its reference.
    ``new_email``: an email change's new address, sealed under the user's ``scope``."""
    ctx.session.execute(update(password_tokens).where(
        password_tokens.c.user_id == user_id, password_tokens.c.used_at.is_(None),
        password_tokens.c.revoked_at.is_(None)).values(revoked_at=now))
    link_ref = uuid.uuid4()
    expires_at = now + tokens.link_ttl(purpose != INVITATION, ctx.settings.password_token_ttl,
                                       ctx.settings.reset_token_ttl)
    ctx.session.execute(password_tokens.insert().values(
        id=link_ref, user_id=user_id, token_hash=tokens.token_hash(_token_of(ctx, str(link_ref))),
        purpose=purpose, created_at=now, expires_at=expires_at,
        new_email=None if new_email is None else ctx.vault.encrypt(
            scope or "", "password_tokens", "new_email", link_ref, new_email)))
    return str(link_ref), expires_at



def link_for(ctx: Ctx, link_ref: object, now: datetime) -> dict[str, Any]:
    """The set-password link of a reference, while it can still be used."""
    ref = parse_uuid(link_ref)
    row = ctx.session.execute(select(password_tokens).where(password_tokens.c.id == ref)).first() \
        if ref else None
    if row is None or row.used_at or row.revoked_at or tokens.one_time_token_expired(
            now, row.expires_at):
        raise Conflict("This link was used, replaced or has expired", code="link_unusable")
    token = _token_of(ctx, str(row.id))
    if row.purpose == EMAIL_CHANGE:
        return {"url": ctx.settings.confirm_email_url(token), "expires_at": iso(row.expires_at),
                "purpose": row.purpose}
    url = ctx.settings.set_password_url(token)
    return {"set_password_url": url, "url": url, "expires_at": iso(row.expires_at),
            "purpose": row.purpose}


def latest_issued_at(ctx: Ctx, user_id: uuid.UUID) -> datetime | None:
    t = password_tokens.c
    return ctx.session.execute(select(t.created_at).where(t.user_id == user_id)
                               .order_by(t.created_at.desc()).limit(1)).scalar()


def find_usable(ctx: Ctx, token: str, now: datetime,
                purposes: tuple[str, ...] = SET_PASSWORD) -> Row | None:
    """The token's row, locked, if it is unused, not voided, not expired and made for one
    of ``purposes`` (an email change's link never sets a password, nor the reverse)."""
    row = ctx.session.execute(select(password_tokens).where(
        password_tokens.c.token_hash == tokens.token_hash(token)).with_for_update()).first()
    if row is None or row.used_at or row.revoked_at or tokens.one_time_token_expired(now, row.expires_at):
        return None
    if row.purpose not in purposes:
        return None
    return row


def mark_used(ctx: Ctx, token_id: uuid.UUID, now: datetime) -> None:
    ctx.session.execute(update(password_tokens).where(password_tokens.c.id == token_id)
                        .values(used_at=now))


def email_payload(ctx: Ctx, user: Row, prof: Profile, link_ref: str,
                  expires_at: datetime) -> dict[str, Any]:
    """Payload of ``user_invited`` / ``password_reset_requested``: what the mailer needs,
    with the link's reference in place of the link (see the module docstring)."""
    return {"user_id": str(user.id), "network_id": str(user.network_id) if user.network_id else None,
            "email": prof.email, "first_name": prof.first_name, "link_ref": link_ref,
            "expires_at": iso(expires_at)}


def new_email_of(ctx: Ctx, row: Row, scope: str) -> str | None:
    """The new address an email change's link holds."""
    return ctx.vault.decrypt(scope, "password_tokens", "new_email", row.id, row.new_email)
