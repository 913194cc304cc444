"""Changing one's email through a link sent to the new address (terms art. 7).

Asking needs the current password, under the login throttle (as ``password_change``). The
new address gets a one-time link (``password_tokens``, purpose ``email_change``, 1 h, the
new address sealed in it; ``email_change_requested``, mailed like a reset). Nothing changes
until the link is used; then the address changes, the old one is told
(``email_changed``) and every other session of the user ends.

An address that already has an account is answered like any other and gets no link: the
form cannot probe who uses the platform. Only whoever holds the new mailbox can learn
(by the link working or not) that it was taken meanwhile.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from accounts.domain.profile import ProfileError, normalise_email
from accounts.models import users
from accounts.usecases import auth, password_tokens
from accounts.usecases.context import Ctx
from accounts.usecases.password_change import check_current_password
from accounts.usecases.sessions import revoke_other_sessions
from accounts.usecases.users import (
    actor,
    email_index,
    encrypt,
    find_by_email,
    get_row,
    iso,
    profile,
    scope_of,
)
from suivi_common import clock
from suivi_common.errors import Conflict, Invalid


def request_email_change(ctx: Ctx, new_email: object, current_password: object,
                         ip: object) -> dict[str, Any]:
    me = actor(ctx)
    now = clock.now()
    prof = profile(ctx, me)
    try:
        address = normalise_email(new_email)
    except ProfileError as err:
        raise Invalid(err.message, fields={"new_email": err.message}) from None
    me, keys, _, _ = check_current_password(ctx, me, current_password, ip, now)
    auth.clear_failures(ctx, keys)
    if address == prof.email:
        raise Invalid("This is already your email", fields={"new_email": "unchanged"})
    answer = {"ok": True, "sent_to": address}
    if find_by_email(ctx, address) is not None:
        return answer  # told nothing (module docstring)
    ctx.lock(f"reset:{me.id}")  # as resets: one link at a time per account
    last = password_tokens.latest_issued_at(ctx, me.id)
    if last is not None and now - last < ctx.settings.reset_min_interval:
        return answer
    link_ref, expires_at = password_tokens.issue(ctx, me.id, password_tokens.EMAIL_CHANGE, now,
                                                 new_email=address, scope=scope_of(me.network_id))
    payload = password_tokens.email_payload(ctx, me, prof, link_ref, expires_at)
    ctx.emit("email_change_requested", {**payload, "email": address})
    return answer


def confirm_email_change(ctx: Ctx, token: object, current_token: object) -> dict[str, Any]:
    """Use the link: the address changes, the old one is told, the other sessions end
    (``current_token``, when the link is opened logged in, keeps its session)."""
    now = clock.now()
    bad = Invalid("This link is invalid or has expired; ask for a new one",
                  fields={"token": "invalid or expired"}, code="token_invalid")
    if not isinstance(token, str) or not token or len(token) > 200:
        raise bad
    row = password_tokens.find_usable(ctx, token, now, (password_tokens.EMAIL_CHANGE,))
    if row is None:
        raise bad
    user = get_row(ctx, row.user_id, for_update=True)
    assert user is not None
    old = profile(ctx, user)
    address = password_tokens.new_email_of(ctx, row, scope_of(user.network_id))
    if not address:
        raise bad
    taken = Conflict("This email already has an account", code="email_taken")
    if find_by_email(ctx, address) is not None:
        raise taken
    try:
        with ctx.session.begin_nested():
            ctx.session.execute(update(users).where(users.c.id == user.id).values(
                email=encrypt(ctx, user.network_id, user.id, "email", address),
                email_index=email_index(ctx, address)))
    except IntegrityError:
        raise taken from None
    password_tokens.mark_used(ctx, row.id, now)
    revoke_other_sessions(ctx, user.id, current_token, now)
    ctx.emit("email_changed", {"user_id": str(user.id),
                               "network_id": str(user.network_id) if user.network_id else None,
                               "email": old.email, "first_name": old.first_name,
                               "changed_at": iso(now)})
    return {"user_id": str(user.id), "email": address}
