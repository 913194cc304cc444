"""The user's own account: "Mon Compte" (terms art. 3.A, 5, 10.B)."""
from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table, and_, bindparam, exists, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from accounts.domain import profile as rules
from accounts.domain import subscriptions as sub_rules
from accounts.domain.accounts import MEMBER_ROLES, AccountStatus, Role, exempt_from_terms
from accounts.domain.subscriptions import EndReason
from accounts.models import (
    access_levels,
    mfa_factors,
    payments,
    subscriptions,
    terms_acceptances,
    terms_versions,
    users,
)
from accounts.usecases import networks
from accounts.usecases import subscriptions as subscriptions_uc
from accounts.usecases.context import Ctx
from accounts.usecases.users import (
    actor,
    check_actor,
    encrypt,
    encrypt_address,
    get_row,
    iso,
    phone_index,
    profile,
    revoke_sessions,
    set_status,
)
from suivi_common import clock
from suivi_common.auth import require
from suivi_common.errors import Conflict, Invalid
from suivi_common.ids import parse_uuid

EDITABLE = {"first_name", "last_name", "phone", "address", "email", "current_password"}


def _prefixed(table: Table, prefix: str, names: str) -> list[Any]:
    return [table.c[name].label(prefix + name) for name in names.split()]


def _part(row: Row, prefix: str) -> SimpleNamespace | None:
    """The columns of one joined table, by their own names; None when the join found none."""
    values = {key[len(prefix):]: value for key, value in row._mapping.items()
              if key.startswith(prefix)}
    return SimpleNamespace(**values) if values["id"] is not None else None


_LEVEL, _SUB, _PAY = "level__", "sub__", "pay__"
_CURRENT_TERMS = (select(terms_versions.c.version).order_by(terms_versions.c.seq.desc())
                  .limit(1).scalar_subquery())
#: Everything ``GET /api/me`` shows, in one round trip: the user, the current terms and
#: whether they accepted them, whether a second factor is active, their access level, and
#: each open subscription with its payment (one row per subscription; none still gives one row).
_ME = (
    select(*(users.c[name] for name in
             "id network_id role status email first_name last_name phone address admin_access "
             "access_level_id contract_concluded_at".split()),
           _CURRENT_TERMS.label("terms_current"),
           exists().where(terms_acceptances.c.user_id == users.c.id,
                          terms_acceptances.c.version == _CURRENT_TERMS).label("terms_accepted"),
           exists().where(mfa_factors.c.user_id == users.c.id,
                          mfa_factors.c.confirmed_at.is_not(None)).label("mfa_active"),
           *_prefixed(access_levels, _LEVEL, "id name permissions is_default created_at"),
           *_prefixed(subscriptions, _SUB, "id status period kind amount_cents starts_on ends_on "
                      "created_at activated_at ended_at end_reason"),
           *_prefixed(payments, _PAY, "id method status amount_cents currency order_type "
                      "order_id description user_id created_at validated_at refund_status "
                      "refund_amount_cents redirect_url"))
    .select_from(
        # the member's level, else the network's default one (which they then hold)
        users.outerjoin(access_levels, or_(
            access_levels.c.id == users.c.access_level_id,
            and_(users.c.access_level_id.is_(None), users.c.role == Role.USER.value,
                 access_levels.c.network_id == users.c.network_id, access_levels.c.is_default)))
        .outerjoin(subscriptions, and_(subscriptions.c.user_id == users.c.id,
                                       subscriptions.c.status.in_(sub_rules.OPEN_STATUSES)))
        .outerjoin(payments, payments.c.id == subscriptions.c.payment_id))
    .where(users.c.id == bindparam("user_id"))
)


def _load_me(ctx: Ctx, user_id: object) -> list[Row]:
    uid = parse_uuid(user_id)
    return list(ctx.session.execute(_ME, {"user_id": uid})) if uid else []


def me_dict(ctx: Ctx, rows: list[Row]) -> dict[str, Any]:
    """``GET /api/me`` from the rows of ``_ME``."""
    row = rows[0]
    p = profile(ctx, row)
    member = row.network_id is not None
    shown = None
    if member:
        pairs = {sub.id: (sub, _part(r, _PAY)) for r in rows if (sub := _part(r, _SUB))}
        chosen = sub_rules.shown([sub for sub, _ in pairs.values()], clock.today())
        shown = subscriptions_uc.subscription_dict(*pairs[chosen.id]) if chosen else None
        if shown is not None and chosen is not None:
            shown["renewal_due"] = _renewal_due(ctx, chosen, [sub for sub, _ in pairs.values()])
    level = _part(row, _LEVEL)
    current = row.terms_current
    return {
        "id": str(row.id), "email": p.email, "first_name": p.first_name,
        "last_name": p.last_name, "phone": p.phone, "address": p.address, "role": row.role,
        "network_id": str(row.network_id) if member else None,
        "terms": {"current_version": current,
                  "accepted": exempt_from_terms(row.role)
                  or (current is not None and bool(row.terms_accepted))},
        "subscription": shown,
        "privacy": {"admin_access": row.admin_access},
        "mfa": {"active": bool(row.mfa_active)},
        "contract_concluded_at": iso(row.contract_concluded_at),
        "access_level": networks.access_level_dict(level) if level else None,
    }


def _renewal_due(ctx: Ctx, chosen: SimpleNamespace, open_subs: list[SimpleNamespace]) -> bool:
    """Whether the subscription shown is ending (the dashboard's reminder): the rule of the
    ``subscription_ending_soon`` email (``domain.subscriptions.reminder_due``), on a running
    paid one, with the other paid ones as the renewals that would keep the office open."""
    today = clock.today()
    if chosen.status != sub_rules.Status.ACTIVE or not chosen.ends_on or not (
            chosen.starts_on and chosen.starts_on <= today):
        return False
    others = [s.ends_on for s in open_subs
              if s.id != chosen.id and s.status == sub_rules.Status.ACTIVE and s.ends_on]
    return sub_rules.reminder_due(chosen.ends_on, today, ctx.settings.reminder_days, others)


def get_me(ctx: Ctx) -> dict[str, Any]:
    """The hot read of every web client's start: one statement, no transaction (the RPC
    is a ``rpc_query``)."""
    principal = require(ctx.principal)
    rows = _load_me(ctx, principal.user_id)
    check_actor(principal, rows[0] if rows else None)
    return me_dict(ctx, rows)


def update_me(ctx: Ctx, changes: object) -> dict[str, Any]:
    me = actor(ctx)
    if not isinstance(changes, dict) or not changes:
        raise Invalid("Nothing to change", fields={"changes": "an object of fields to change"})
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise Invalid("Unknown field(s)", fields={k: "unknown field" for k in unknown})
    values: dict[str, Any] = {}
    fields: dict[str, str] = {}
    cleaners: dict[str, Callable[[Any], Any]] = {"first_name": lambda v: rules.clean_name(v, "first_name"),
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
    if "phone" in values:
        update_values["phone_index"] = phone_index(ctx, values["phone"])
    if "address" in values:
        update_values["address"] = encrypt_address(ctx, me.network_id, me.id, values["address"])
    new_email = values.get("email")
    if new_email is not None and new_email != profile(ctx, me).email:
        # the address changes only through a link sent to it (``usecases.email_change``)
        raise Invalid("A new email is confirmed by a link sent to it: POST /api/me/email",
                      fields={"email": "use POST /api/me/email"},
                      code="email_change_needs_confirmation")
    if update_values:
        try:
            with ctx.session.begin_nested():
                ctx.session.execute(update(users).where(users.c.id == me.id).values(**update_values))
        except IntegrityError:
            raise Conflict("This email already has an account", code="email_taken") from None
    return me_dict(ctx, _load_me(ctx, me.id))


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
    subscriptions_uc.end_all_of_user(ctx, me.id, EndReason.TERMINATED, now)
    set_status(ctx, me.id, AccountStatus.TERMINATED, now)
    revoke_sessions(ctx, me.id, now)
