"""The user's own account: "Mon Compte" (terms art. 3.A, 5, 10.B)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from accounts.adapters import password_hasher
from accounts.domain import profile as rules
from accounts.domain.accounts import MEMBER_ROLES, AccountStatus, exempt_from_terms
from accounts.domain.subscriptions import EndReason
from accounts.models import users
from accounts.usecases import networks, subscriptions, terms
from accounts.usecases.context import Ctx
from accounts.usecases.users import (
    actor,
    email_index,
    encrypt,
    encrypt_address,
    find_by_email,
    get_row,
    iso,
    profile,
    revoke_sessions,
    set_status,
)
from suivi_common import clock
from suivi_common.errors import Conflict, Forbidden, Invalid

EDITABLE = {"first_name", "last_name", "phone", "address", "email", "current_password"}


def me_dict(ctx: Ctx, row: Row) -> dict[str, Any]:
    p = profile(ctx, row)
    current = terms.current_version(ctx)
    member = row.network_id is not None
    return {
        "id": str(row.id), "email": p.email, "first_name": p.first_name,
        "last_name": p.last_name, "phone": p.phone, "address": p.address, "role": row.role,
        "network_id": str(row.network_id) if member else None,
        "terms": {"current_version": current,
                  "accepted": exempt_from_terms(row.role) or terms.has_accepted(ctx, row.id, current)},
        "subscription": subscriptions.current_for(ctx, row.id) if member else None,
        "privacy": {"admin_access": row.admin_access},
        "contract_concluded_at": iso(row.contract_concluded_at),
        "access_level": networks.access_level_of(ctx, row.access_level_id),
    }


def get_me(ctx: Ctx) -> dict[str, Any]:
    return me_dict(ctx, actor(ctx))


def update_me(ctx: Ctx, changes: object) -> dict[str, Any]:
    me = actor(ctx)
    if not isinstance(changes, dict) or not changes:
        raise Invalid("Nothing to change", fields={"changes": "an object of fields to change"})
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise Invalid("Unknown field(s)", fields={k: "unknown field" for k in unknown})
    values: dict[str, Any] = {}
    fields: dict[str, str] = {}
    cleaners = {"first_name": lambda v: rules.clean_name(v, "first_name"),
                "last_name": lambda v: rules.clean_name(v, "last_name"),
                "phone": rules.normalise_phone, "address": rules.clean_address,
                "email": rules.normalise_email}
    for key, clean in cleaners.items():
        if key in changes:
            try:
                values[key] = clean(changes[key])
            except rules.ProfileError as err:
                fields[err.field] = err.message
    if fields:
        raise Invalid("Some fields are not valid", fields=fields)

    update_values: dict[str, Any] = {}
    for key in ("first_name", "last_name", "phone"):
        if key in values:
            update_values[key] = encrypt(ctx, me.network_id, me.id, key, values[key])
    if "address" in values:
        update_values["address"] = encrypt_address(ctx, me.network_id, me.id, values["address"])
    new_email = values.get("email")
    if new_email is not None and new_email != profile(ctx, me).email:
        password = changes.get("current_password")
        if not (isinstance(password, str) and me.password_hash
                and password_hasher.verify_password(me.password_hash, password)):
            raise Forbidden("Your current password is needed to change your email",
                            code="password_required")
        if find_by_email(ctx, new_email) is not None:
            raise Conflict("This email already has an account", code="email_taken")
        update_values["email"] = encrypt(ctx, me.network_id, me.id, "email", new_email)
        update_values["email_index"] = email_index(ctx, new_email)
    if update_values:
        try:
            with ctx.session.begin_nested():
                ctx.session.execute(update(users).where(users.c.id == me.id).values(**update_values))
        except IntegrityError:
            raise Conflict("This email already has an account", code="email_taken") from None
    row = get_row(ctx, me.id)
    assert row is not None
    return me_dict(ctx, row)


def set_privacy(ctx: Ctx, admin_access: object) -> dict[str, Any]:
    """Whether the network admin may look into the member's office (art. 5)."""
    me = actor(ctx, *MEMBER_ROLES)
    if not isinstance(admin_access, bool):
        raise Invalid("admin_access must be true or false", fields={"admin_access": "boolean"})
    if me.admin_access != admin_access:
        ctx.session.execute(update(users).where(users.c.id == me.id).values(admin_access=admin_access))
        ctx.emit("user_privacy_changed", {"user_id": str(me.id), "network_id": str(me.network_id),
                                          "admin_access": admin_access})
    return {"admin_access": admin_access}


def terminate(ctx: Ctx) -> None:
    """The user ends the contract, at any time, without refund of unused time (art. 10.B)."""
    me = actor(ctx, *MEMBER_ROLES)
    now = clock.now()
    get_row(ctx, me.id, for_update=True)
    subscriptions.end_all_of_user(ctx, me.id, EndReason.TERMINATED, now)
    set_status(ctx, me.id, AccountStatus.TERMINATED, now)
    revoke_sessions(ctx, me.id, now)
