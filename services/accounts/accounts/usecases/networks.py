"""Networks, their members and access levels (terms art. 1, 5; glossary)."""
from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from accounts.domain import networks as rules
from accounts.domain import permissions
from accounts.domain.accounts import MEMBER_ROLES, AccountStatus, Role
from accounts.domain.profile import ProfileError, clean_name, normalise_email
from accounts.models import access_levels, masked_invitations, networks, users
from accounts.usecases import invitations, office_openings, password_tokens, subscriptions
from accounts.usecases.context import Ctx
from accounts.usecases.users import (
    actor,
    find_by_email,
    get_row,
    insert_user,
    iso,
    level_permissions,
    member_dict,
    member_of_network,
    office_active_ids,
    profile,
    viewable_by_admin,
)
from suivi_common import clock, paging
from suivi_common.database import one_row
from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound
from suivi_common.ids import parse_uuid


def network_dict(row: Row) -> dict[str, Any]:
    return {"id": str(row.id), "name": row.name, "announcement": row.announcement,
            "open_countries": list(row.open_countries or [])}


def _network(ctx: Ctx, network_id: uuid.UUID | None, for_update: bool = False) -> Row:
    return one_row(ctx.session, select(networks).where(networks.c.id == network_id), "network",
                   for_update)


def _invitee(admin_or_member: dict[str, Any]) -> tuple[str, str, str]:
    fields: dict[str, str] = {}
    values: dict[str, str] = {}
    for key, clean in (("email", normalise_email),
                       ("first_name", lambda v: clean_name(v, "first_name")),
                       ("last_name", lambda v: clean_name(v, "last_name"))):
        try:
            values[key] = clean(admin_or_member.get(key))
        except ProfileError as err:
            fields[err.field] = err.message
    if fields:
        raise Invalid("Some fields are not valid", fields=fields)
    return values["email"], values["first_name"], values["last_name"]


def _invite(ctx: Ctx, network_id: uuid.UUID, role: Role, email: str, first_name: str,
            last_name: str) -> Row:
    """Create an invited user and email them a set-password link (emits ``user_invited``)."""
    if find_by_email(ctx, email) is not None:
        raise Conflict("This email already has an account", code="email_taken")
    now = clock.now()
    try:
        with ctx.session.begin_nested():
            user_id = insert_user(ctx, network_id=network_id, role=role.value,
                                  status=AccountStatus.INVITED.value, email=email,
                                  first_name=first_name, last_name=last_name, now=now)
    except IntegrityError:  # the same email invited concurrently
        raise Conflict("This email already has an account", code="email_taken") from None
    user = get_row(ctx, user_id)
    assert user is not None
    link_ref, expires_at = password_tokens.issue(ctx, user_id, password_tokens.INVITATION, now)
    ctx.emit("user_invited", password_tokens.email_payload(ctx, user, profile(ctx, user),
                                                           link_ref, expires_at))
    return user


def create_network(ctx: Ctx, name: object, admin: object) -> dict[str, Any]:
    actor(ctx, "staff")
    fields: dict[str, str] = {}
    try:
        clean = rules.clean_network_name(name)
    except rules.SettingError as err:
        fields[err.field] = err.message
    if not isinstance(admin, dict):
        fields["admin"] = "The admin needs an email, a first name and a last name."
    if fields:
        raise Invalid("Some fields are not valid", fields=fields)
    assert isinstance(admin, dict)
    try:
        email, first_name, last_name = _invitee(admin)
    except Invalid as err:
        raise Invalid("The admin is not valid",
                      fields={f"admin.{k}": v for k, v in (err.fields or {}).items()}) from None
    now = clock.now()
    network_id = uuid.uuid4()
    try:
        with ctx.session.begin_nested():
            ctx.session.execute(networks.insert().values(
                id=network_id, name=clean, name_key=clean.lower(), open_countries=[],
                created_at=now, updated_at=now))
    except IntegrityError:
        raise Conflict("A network with this name exists", code="network_name_taken") from None
    ctx.session.execute(access_levels.insert().values(
        id=uuid.uuid4(), network_id=network_id, name=permissions.DEFAULT_LEVEL_NAME,
        permissions=list(permissions.ALL), is_default=True, created_at=now))
    admin_row = _invite(ctx, network_id, Role.ADMIN, email, first_name, last_name)
    ctx.emit("network_created", {"network_id": str(network_id), "name": clean,
                                 "admin_id": str(admin_row.id)})
    return {"id": str(network_id), "name": clean, "admin": member_dict(ctx, admin_row, False)}


def get_network(ctx: Ctx) -> dict[str, Any]:
    me = actor(ctx, *MEMBER_ROLES)
    return network_dict(_network(ctx, me.network_id))


def update_network_settings(ctx: Ctx, open_countries: object = None,
                            announcement: object = None) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    changes: dict[str, Any] = {}
    fields: dict[str, str] = {}
    for key, value, clean in (("open_countries", open_countries, rules.clean_open_countries),
                              ("announcement", announcement, rules.clean_announcement)):
        if value is None:
            continue
        try:
            changes[key] = clean(value)
        except rules.SettingError as err:
            fields[err.field] = err.message
    if fields:
        raise Invalid("Some settings are not valid", fields=fields)
    row = _network(ctx, me.network_id, for_update=True)
    if changes:
        ctx.session.execute(update(networks).where(networks.c.id == row.id)
                            .values(updated_at=clock.now(), **changes))
        row = _network(ctx, me.network_id)
        ctx.emit("network_settings_changed", {"network_id": str(row.id),
                                              "open_countries": list(row.open_countries),
                                              "announcement": row.announcement})
    return network_dict(row)


def invite_member(ctx: Ctx, email: object, first_name: object, last_name: object) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    clean = _invitee({"email": email, "first_name": first_name, "last_name": last_name})
    holder = find_by_email(ctx, clean[0])
    if holder is not None and not rules.invitation_conflict_told(holder.network_id,
                                                                 me.network_id):
        # an account elsewhere: answered as a new address is, never revealed
        return invitations.invite_masked(ctx, me.id, me.network_id, *clean)
    try:
        user = _invite(ctx, me.network_id, Role.USER, *clean)
    except Conflict:  # the same address invited concurrently, maybe by another network
        holder = find_by_email(ctx, clean[0])
        if holder is None or rules.invitation_conflict_told(holder.network_id, me.network_id):
            raise
        return invitations.invite_masked(ctx, me.id, me.network_id, *clean)
    return member_dict(ctx, user, False)


def list_members(ctx: Ctx, cursor: object = None, limit: object = None) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    size = paging.check_limit(limit)
    members = ctx.session.execute(paging.keyset(
        select(users).where(users.c.network_id == me.network_id), users, cursor, size)).all()
    # invitations of addresses in use elsewhere are listed as the invited members they
    # would be (``invitations``), in the same (created_at, id) order
    masked = ctx.session.execute(paging.keyset(
        invitations.of_network(me.network_id), masked_invitations, cursor, size)).all()
    masked_ids = {r.id for r in masked}
    rows = sorted([*members, *masked], key=lambda r: (r.created_at, r.id))[:size + 1]
    active = office_active_ids(ctx, [r.id for r in rows[:size] if r.id not in masked_ids])
    return paging.page(rows, size, [
        invitations.answer(ctx, r) if r.id in masked_ids else member_dict(ctx, r, r.id in active)
        for r in rows[:size]])


def get_member(ctx: Ctx, member_id: object) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    try:
        row = member_of_network(ctx, member_id, me.network_id)
    except NotFound:  # an invitation of an address in use elsewhere reads as its member
        masked = invitations.find(ctx, member_id, me.network_id)
        if masked is None:
            raise
        return masked
    return member_dict(ctx, row, row.id in office_active_ids(ctx, [row.id]))


def access_level_dict(row: Row | SimpleNamespace) -> dict[str, Any]:
    return {"id": str(row.id), "name": row.name, "permissions": list(row.permissions),
            "is_default": bool(getattr(row, "is_default", False)),
            "created_at": iso(row.created_at)}


def list_access_levels(ctx: Ctx) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    rows = ctx.session.execute(select(access_levels).where(access_levels.c.network_id == me.network_id)
                               .order_by(access_levels.c.name))
    return {"items": [access_level_dict(r) for r in rows], "next_cursor": None}


def _clean_level(name: object, permission_names: object) -> tuple[str, list[str]]:
    fields: dict[str, str] = {}
    clean = ""
    try:
        clean = rules.clean_access_level_name(name)
    except rules.SettingError as err:
        fields[err.field] = err.message
    if not isinstance(permission_names, list) or not all(isinstance(p, str) for p in permission_names):
        fields["permissions"] = "A list of permission names is expected."
    elif unknown := permissions.unknown(permission_names):
        fields["permissions"] = f"Unknown permission(s): {', '.join(unknown)}."
    if fields:
        raise Invalid("The access level is not valid", fields=fields)
    assert isinstance(permission_names, list)
    return clean, permissions.normalise(permission_names)


def _level(ctx: Ctx, level_id: object, network_id: uuid.UUID | None, what: str = "access level",
           lock: str | None = None) -> Row:
    """A level of the admin's network (another network's is simply not found); ``lock``:
    ``update`` or ``share``."""
    parsed = parse_uuid(level_id)
    query = select(access_levels).where(access_levels.c.id == parsed,
                                        access_levels.c.network_id == network_id)
    if lock == "update":
        query = query.with_for_update()
    elif lock == "share":
        query = query.with_for_update(read=True)
    row = ctx.session.execute(query).first() if parsed else None
    if row is None:
        raise NotFound(f"No such {what}")
    return row


def create_access_level(ctx: Ctx, name: object, permission_names: object) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    clean, granted = _clean_level(name, permission_names)
    level_id = uuid.uuid4()
    try:
        with ctx.session.begin_nested():
            ctx.session.execute(access_levels.insert().values(
                id=level_id, network_id=me.network_id, name=clean,
                permissions=granted, created_at=clock.now()))
    except IntegrityError:
        raise Conflict("An access level with this name exists", code="access_level_name_taken") from None
    row = ctx.session.execute(select(access_levels).where(access_levels.c.id == level_id)).one()
    return access_level_dict(row)


def update_access_level(ctx: Ctx, level_id: object, name: object,
                        permission_names: object) -> dict[str, Any]:
    """Rename a level and replace its permissions; its holders' next request carries them
    (the gateway drops the network's cached principals)."""
    me = actor(ctx, Role.ADMIN.value)
    clean, granted = _clean_level(name, permission_names)
    row = _level(ctx, level_id, me.network_id, lock="update")
    try:
        with ctx.session.begin_nested():
            ctx.session.execute(update(access_levels).where(access_levels.c.id == row.id)
                                .values(name=clean, permissions=granted, updated_at=clock.now()))
    except IntegrityError:
        raise Conflict("An access level with this name exists", code="access_level_name_taken") from None
    holders = (users.c.access_level_id == row.id)
    if row.is_default:  # members with no level of their own hold the default one
        holders = holders | users.c.access_level_id.is_(None)
    announce_permissions(ctx, me.network_id, holders)
    return access_level_dict(ctx.session.execute(
        select(access_levels).where(access_levels.c.id == row.id)).one())


def delete_access_level(ctx: Ctx, level_id: object, replacement_id: object = None) -> dict[str, Any]:
    """Delete a level; its holders move to ``replacement_id`` (required while anyone holds
    it). The level's row lock orders this against a concurrent assignment to it, which
    holds the row in share mode: that member is moved too."""
    me = actor(ctx, Role.ADMIN.value)
    ctx.lock(f"access-levels:{me.network_id}")  # two deletions replacing each other: in turn
    row = _level(ctx, level_id, me.network_id, lock="update")
    holders = ctx.session.execute(select(func.count()).select_from(users)
                                  .where(users.c.access_level_id == row.id)).scalar_one()
    m = masked_invitations.c  # invited addresses in use elsewhere hold levels like members
    holders += ctx.session.execute(select(func.count()).select_from(masked_invitations)
                                   .where(m.access_level_id == row.id)).scalar_one()
    replacement = None
    if replacement_id is not None:
        if parse_uuid(replacement_id) is None:
            raise Invalid("The replacement level is not valid",
                          fields={"replacement_id": "not a level id"}, code="replacement_invalid")
    permissions.check_deletion(level_id=str(row.id), is_default=row.is_default, holders=holders,
                               replacement_id=None if replacement_id is None
                               else str(parse_uuid(replacement_id)))
    if replacement_id is not None:
        try:
            replacement = _level(ctx, replacement_id, me.network_id, "replacement level",
                                 lock="share")
        except NotFound:
            raise Invalid("No such replacement level in your network",
                          fields={"replacement_id": "unknown"}, code="replacement_invalid") from None
    target = None
    if replacement is not None and not replacement.is_default:
        target = replacement.id  # the default level is held by having none of one's own
    moved_ids = [r.id for r in ctx.session.execute(
        update(users).where(users.c.access_level_id == row.id)
        .values(access_level_id=target).returning(users.c.id))]
    moved = len(moved_ids) + len(ctx.session.execute(
        update(masked_invitations).where(m.access_level_id == row.id)
        .values(access_level_id=target).returning(m.id)).all())
    ctx.session.execute(access_levels.delete().where(access_levels.c.id == row.id))
    if moved_ids:
        announce_permissions(ctx, me.network_id, users.c.id.in_(moved_ids))
    return {"id": str(row.id), "deleted": True, "members_moved": moved,
            "replacement_id": str(replacement.id) if replacement is not None else None}


def _level_to_hold(ctx: Ctx, access_level_id: object, network_id: uuid.UUID | None
                   ) -> uuid.UUID | None:
    """What ``access_level_id`` stores: None for the network's default level."""
    if access_level_id is None:
        return None
    level = _level(ctx, access_level_id, network_id, lock="share")
    return None if level.is_default else level.id


def assign_access_level(ctx: Ctx, member_id: object, access_level_id: object) -> dict[str, Any]:
    """Give a member a level (None, or the default level: the network's default)."""
    me = actor(ctx, Role.ADMIN.value)
    try:
        member = member_of_network(ctx, member_id, me.network_id, for_update=True)
    except NotFound:  # an invitation of an address in use elsewhere takes a level too
        masked = invitations.find_row(ctx, member_id, me.network_id)
        if masked is None:
            raise
        level_id = _level_to_hold(ctx, access_level_id, me.network_id)
        ctx.session.execute(update(masked_invitations).where(
            masked_invitations.c.id == masked.id).values(access_level_id=level_id))
        found = invitations.find(ctx, masked.id, me.network_id)
        assert found is not None
        return found
    level_id = _level_to_hold(ctx, access_level_id, me.network_id)
    ctx.session.execute(update(users).where(users.c.id == member.id).values(access_level_id=level_id))
    announce_permissions(ctx, me.network_id, users.c.id == member.id)
    row = get_row(ctx, member.id)
    assert row is not None
    return member_dict(ctx, row, row.id in office_active_ids(ctx, [row.id]))


def announce_permissions(ctx: Ctx, network_id: uuid.UUID | None, which: ColumnElement[bool]) -> None:
    """Tell the services that act for members without a request (leads' auto-delivery)
    the effective permissions of the network's members that ``which`` selects, as they
    stand in this transaction. Requests need no event: the gateway's principal carries
    the permissions, and a changed level evicts it (``access_levels_changed``)."""
    rows = ctx.session.execute(
        select(users.c.id, users.c.role, *level_permissions())
        .where(users.c.network_id == network_id, users.c.role == Role.USER.value, which)
        .order_by(users.c.id)
        # a concurrent assignment of one of them commits first, and is then re-read
        .with_for_update(of=users)).all()
    as_of = iso(clock.now())  # after the locks: a member's later change has a later as_of
    for r in rows:
        ctx.emit("member_permissions_changed", {
            "user_id": str(r.id), "network_id": str(network_id),
            "permissions": permissions.effective(r.role, r.own_level, r.default_level),
            "as_of": as_of})


def list_networks(ctx: Ctx, cursor: object = None, limit: object = None) -> dict[str, Any]:
    actor(ctx, "staff", "compliance")
    size = paging.check_limit(limit)
    rows = ctx.session.execute(paging.keyset(select(networks), networks, cursor, size)).all()
    ids = [r.id for r in rows[:size]]
    admins = {r.network_id: r.id for r in ctx.session.execute(
        select(users.c.network_id, users.c.id).where(users.c.network_id.in_(ids),
                                                     users.c.role == Role.ADMIN.value))}
    items = [dict(network_dict(r), created_at=iso(r.created_at),
                  admin_id=str(admins[r.id]) if r.id in admins else None) for r in rows[:size]]
    return paging.page(rows, size, items)


def member_office(ctx: Ctx, member_id: object) -> dict[str, Any]:
    """An admin's look into a member's office (terms art. 5): refused once the member has
    turned admin access off (or had the processing of their data restricted); a member of
    another network is simply not found. The look is an opening of the office
    (``office_openings``: ``member_office_opened`` for the audit trail)."""
    me = actor(ctx, Role.ADMIN.value)
    try:
        row = member_of_network(ctx, member_id, me.network_id)
    except NotFound:  # an invitation of an address in use elsewhere: an office not begun
        masked = invitations.find_row(ctx, member_id, me.network_id)
        if masked is None:
            raise
        return invitations.office_of(ctx, masked)
    if row.id != me.id:
        if not viewable_by_admin(row):
            raise Forbidden("This member has turned admin access off", code="admin_access_refused")
        office_openings.record(ctx, me, row)
    details = profile(ctx, row)
    return {"member": member_dict(ctx, row, row.id in office_active_ids(ctx, [row.id])),
            "phone": details.phone, "address": details.address,
            "subscription": subscriptions.current_for(ctx, row.id)}
