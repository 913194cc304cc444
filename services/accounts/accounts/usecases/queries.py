"""Answers for the other services (plans, leads, mailer, gateway), by ids given as
arguments: their entry points are ``@rpc_internal``, so only a signed service principal
reaches them (never a user, never an anonymous caller)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from accounts.domain.accounts import MEMBER_ROLES, AccountStatus, Role
from accounts.models import networks, subscriptions, users
from accounts.usecases import invitations, office_openings
from accounts.usecases.context import Ctx
from accounts.usecases.users import (
    brief,
    get_row,
    office_active_ids,
    scope_of,
    viewable_by_admin,
)
from suivi_common import clock
from suivi_common.errors import Invalid, NotFound
from suivi_common.ids import parse_uuid
from suivi_common.kinds import KINDS, covers


def get_user(ctx: Ctx, user_id: object) -> dict[str, Any]:
    """``brief`` and the phone when the user has one; an erased user is not found (there
    is nobody to write to any more)."""
    row = get_row(ctx, user_id)
    if row is None or row.erased_at is not None:
        raise NotFound("No such user")
    return _user_answer(ctx, row)


def _user_answer(ctx: Ctx, row: Any) -> dict[str, Any]:
    answer = brief(ctx, row)
    phone = ctx.vault.decrypt(scope_of(row.network_id), "users", "phone", row.id, row.phone)
    if phone:
        answer["phone"] = phone
    return answer


#: Users per ``senders`` question (the mailer asks once per batch of emails).
MAX_SENDERS = 500


def senders(ctx: Ctx, user_ids: Any) -> dict[str, dict[str, Any]]:
    """``get_user`` and ``office_active`` of many users at once (the RPC ``senders``):
    ``{user_id: {"user": get_user's answer, "office_active": bool}}``. The mailer sends
    its emails in batches; one question per batch replaces two per email, and both parts
    come from the same read. A user ``get_user`` would call NotFound (unknown, malformed,
    erased) is absent."""
    if not isinstance(user_ids, list) or len(user_ids) > MAX_SENDERS:
        raise Invalid(f"user_ids must be a list of at most {MAX_SENDERS} ids",
                      fields={"user_ids": "a list of ids"})
    ids = {uid for uid in (parse_uuid(x) for x in user_ids) if uid is not None}
    if not ids:
        return {}
    rows = [r for r in ctx.session.execute(select(users).where(users.c.id.in_(ids)))
            if r.erased_at is None]
    active = office_active_ids(ctx, [r.id for r in rows
                                     if r.status == AccountStatus.ACTIVE.value])
    return {str(r.id): {"user": _user_answer(ctx, r), "office_active": r.id in active}
            for r in rows}


def office_active(ctx: Ctx, user_id: object) -> bool:
    """The office is open: the account is active and a paid subscription covers today."""
    row = get_row(ctx, user_id)
    if row is None or row.status != AccountStatus.ACTIVE.value:
        return False
    return row.id in office_active_ids(ctx, [row.id])


def office_kinds(ctx: Ctx, user_id: object) -> list[str]:
    """The office kinds the user's paid subscriptions covering today cover (issue 13 §1),
    sorted; [] when the office is closed (as ``office_active`` says)."""
    row = get_row(ctx, user_id)
    if row is None or row.status != AccountStatus.ACTIVE.value:
        return []
    day, s = clock.today(), subscriptions.c
    coverages = ctx.session.execute(select(s.kind).distinct().where(
        s.user_id == row.id, s.status == "active", s.starts_on <= day,
        s.ends_on >= day)).scalars()
    return sorted({k for c in coverages for k in KINDS if covers(c, k)})


def open_countries(ctx: Ctx, network_id: object) -> list[str]:
    nid = parse_uuid(network_id)
    row = ctx.session.execute(select(networks.c.open_countries).where(networks.c.id == nid)).first() \
        if nid else None
    if row is None:
        raise NotFound("No such network")
    return list(row.open_countries or [])


def admin_can_view(ctx: Ctx, admin_id: object, member_id: object) -> bool:
    """The admin of the member's network, if the member has not refused it (art. 5) nor
    had the processing of their data restricted (GDPR art. 18). A yes is the admin
    opening the member's office: it is recorded (``office_openings``)."""
    admin, member = get_row(ctx, admin_id), get_row(ctx, member_id)
    if admin is not None and member is None:
        # an invitation of an address in use elsewhere reads as an invited member, whose
        # office holds nothing yet (``usecases.invitations``)
        return (admin.role == Role.ADMIN.value and admin.status == AccountStatus.ACTIVE.value
                and invitations.is_masked(ctx, member_id, admin.network_id))
    if admin is None or member is None:
        return False
    allowed = (admin.role == Role.ADMIN.value and admin.status == AccountStatus.ACTIVE.value
               and admin.network_id == member.network_id and viewable_by_admin(member))
    if allowed:
        office_openings.record(ctx, admin, member)
    return allowed


def network_members(ctx: Ctx, network_id: object) -> list[str]:
    """Ids of the network's active members."""
    nid = parse_uuid(network_id)
    if nid is None:
        raise NotFound("No such network")
    rows = ctx.session.execute(select(users.c.id).where(
        users.c.network_id == nid, users.c.role.in_(MEMBER_ROLES),
        users.c.status == AccountStatus.ACTIVE.value).order_by(users.c.created_at))
    return [str(r.id) for r in rows]
