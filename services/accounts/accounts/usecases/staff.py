"""What the platform's staff do to accounts (terms art. 10.A)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts.adapters import password_hasher
from accounts.domain import passwords
from accounts.domain.accounts import PLATFORM_ROLES, AccountStatus
from accounts.domain.profile import ProfileError, normalise_email
from accounts.domain.subscriptions import EndReason
from accounts.models import users
from accounts.usecases import subscriptions
from accounts.usecases.context import Ctx
from accounts.usecases.users import (
    actor,
    brief,
    find_by_email,
    get_row,
    insert_user,
    iso,
    revoke_sessions,
    row_of,
    set_status,
)
from suivi_common import clock
from suivi_common.errors import Conflict, Invalid, NotFound
from suivi_common.ids import parse_uuid


def _target(ctx: Ctx, user_id: object) -> Any:
    me = actor(ctx, "staff")
    row = get_row(ctx, user_id, for_update=True)
    if row is None:
        raise NotFound("No such user")
    if row.id == me.id:
        raise Conflict("Staff cannot change their own account status", code="cannot_target_self")
    return row


def suspend_user(ctx: Ctx, user_id: object) -> dict[str, Any]:
    row = _target(ctx, user_id)
    if row.status in (AccountStatus.CLOSED.value, AccountStatus.TERMINATED.value):
        raise Conflict("This account is closed", code="account_closed")
    now = clock.now()
    set_status(ctx, row.id, AccountStatus.SUSPENDED, now)
    revoke_sessions(ctx, row.id, now)
    return brief(ctx, row_of(ctx, row.id))


def close_user(ctx: Ctx, user_id: object) -> dict[str, Any]:
    row = _target(ctx, user_id)
    now = clock.now()
    if row.status not in (AccountStatus.CLOSED.value, AccountStatus.TERMINATED.value):
        subscriptions.end_all_of_user(ctx, row.id, EndReason.CLOSED, now)
        set_status(ctx, row.id, AccountStatus.CLOSED, now)
    revoke_sessions(ctx, row.id, now)
    return brief(ctx, row_of(ctx, row.id))


def reactivate_user(ctx: Ctx, user_id: object) -> dict[str, Any]:
    """Lift a suspension or closure (and, at the user's request, a termination). The
    account comes back without subscription if it had been closed. An erased account
    never comes back (its holder can be invited again, as a new account)."""
    row = _target(ctx, user_id)
    if row.erased_at is not None:
        raise Conflict("This account was erased (its holder's request or the retention term)",
                       code="account_erased")
    if row.status in (AccountStatus.ACTIVE.value, AccountStatus.INVITED.value):
        raise Conflict("This account is not suspended or closed", code="account_not_suspended")
    status = AccountStatus.ACTIVE if row.password_hash else AccountStatus.INVITED
    set_status(ctx, row.id, status, clock.now())
    return brief(ctx, row_of(ctx, row.id))


def create_staff(ctx: Ctx, email: object, password: object, role: object) -> dict[str, Any]:
    actor(ctx, "staff")
    fields: dict[str, str] = {}
    try:
        address = normalise_email(email)
    except ProfileError as err:
        fields[err.field] = err.message
        address = ""
    if role not in PLATFORM_ROLES:
        fields["role"] = "staff or compliance"
    problem = passwords.check(password, address or None)
    if problem:
        fields["password"] = problem
    if fields:
        raise Invalid("Some fields are not valid", fields=fields)
    assert isinstance(password, str) and isinstance(role, str)
    if find_by_email(ctx, address) is not None:
        raise Conflict("This email already has an account", code="email_taken")
    try:
        with ctx.session.begin_nested():
            uid = insert_user(ctx, network_id=None, role=role, status=AccountStatus.ACTIVE.value,
                              email=address, first_name=None, last_name=None, now=clock.now(),
                              password_hash=password_hasher.hash_password(password))
    except IntegrityError:
        raise Conflict("This email already has an account", code="email_taken") from None
    return brief(ctx, row_of(ctx, uid))


def staff_exists(ctx: Ctx) -> bool:
    return ctx.session.execute(select(users.c.id).where(users.c.role == "staff").limit(1)).first() is not None


def find_users(ctx: Ctx, query: object) -> dict[str, Any]:
    """Staff look an account up by its exact email (through the blind index: emails are
    stored encrypted, so there is no partial match) or by its id. At most one account;
    ``items`` is empty when none matches (an unreadable query too)."""
    actor(ctx, "staff")
    text = query.strip() if isinstance(query, str) else ""
    row = None
    if "@" in text:
        try:
            row = find_by_email(ctx, normalise_email(text))
        except ProfileError:
            row = None
    elif parse_uuid(text) is not None:
        row = get_row(ctx, text)
    if row is None:
        return {"items": [], "next_cursor": None}
    return {"items": [dict(brief(ctx, row), created_at=iso(row.created_at),
                           status_changed_at=iso(row.status_changed_at))],
            "next_cursor": None}
