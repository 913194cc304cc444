"""Answers for the other services (plans, leads, mailer, gateway), by ids given as
arguments: their entry points are ``@rpc_internal``, so only a signed service principal
reaches them (never a user, never an anonymous caller)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from accounts.domain.accounts import MEMBER_ROLES, AccountStatus, Role
from accounts.models import networks, users
from accounts.usecases import office_openings
from accounts.usecases.context import Ctx
from accounts.usecases.users import (
    brief,
    get_row,
    office_active_ids,
    scope_of,
    viewable_by_admin,
)
from suivi_common.errors import NotFound
from suivi_common.ids import parse_uuid


def get_user(ctx: Ctx, user_id: object) -> dict[str, Any]:
    """``brief`` and the phone when the user has one; an erased user is not found (there
    is nobody to write to any more)."""
    row = get_row(ctx, user_id)
    if row is None or row.erased_at is not None:
        raise NotFound("No such user")
    answer = brief(ctx, row)
    phone = ctx.vault.decrypt(scope_of(row.network_id), "users", "phone", row.id, row.phone)
    if phone:
        answer["phone"] = phone
    return answer


def office_active(ctx: Ctx, user_id: object) -> bool:
    """The office is open: the account is active and a paid subscription covers today."""
    row = get_row(ctx, user_id)
    if row is None or row.status != AccountStatus.ACTIVE.value:
        return False
    return row.id in office_active_ids(ctx, [row.id])


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
