"""Reading and writing users: encryption of personal data, who the caller is, and the
shapes users take in answers."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Row

from accounts.domain.accounts import AccountStatus, login_refusal
from accounts.domain.sites import slug_for
from accounts.models import access_levels, sessions, subscriptions, users
from accounts.usecases.context import Ctx
from suivi_common import clock
from suivi_common.auth import Principal, require
from suivi_common.crypto import PLATFORM_SCOPE
from suivi_common.errors import Forbidden, NotFound, Unauthorized
from suivi_common.ids import parse_uuid

ENCRYPTED = ("email", "first_name", "last_name", "phone", "address")


def scope_of(network_id: uuid.UUID | str | None) -> str:
    """Members' data is keyed per network (crypto-shredding a network erases it);
    staff's under the platform scope."""
    return str(network_id) if network_id else PLATFORM_SCOPE


def level_permissions() -> tuple[Any, Any]:
    """The permissions of a user's own access level and of their network's default level,
    as columns to select beside ``users`` (``domain.permissions.effective`` decides)."""
    own = select(access_levels.c.permissions).where(
        access_levels.c.id == users.c.access_level_id).scalar_subquery()
    default = select(access_levels.c.permissions).where(
        access_levels.c.network_id == users.c.network_id, access_levels.c.is_default
    ).limit(1).scalar_subquery()
    return own.label("own_level"), default.label("default_level")


def iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def email_index(ctx: Ctx, email: str) -> bytes:
    """Blind index of a normalised email, platform-wide so uniqueness spans networks."""
    return ctx.vault.blind_index(PLATFORM_SCOPE, "email", email)


def phone_index(ctx: Ctx, phone: str | None) -> bytes | None:
    """Blind index of an E.164 phone, platform-wide (a data-subject request names a person,
    not a network); not unique: a number may be shared."""
    return ctx.vault.blind_index(PLATFORM_SCOPE, "phone", phone) if phone else None


def index_phones(ctx: Ctx, batch: int = 500) -> int:
    """Give every phone stored before the index existed its blind index (start-up; a
    no-op once done). Returns how many rows it indexed."""
    done = 0
    while True:
        rows = ctx.session.execute(select(users.c.id, users.c.network_id, users.c.phone).where(
            users.c.phone.is_not(None), users.c.phone_index.is_(None)).limit(batch)).all()
        for row in rows:
            phone = ctx.vault.decrypt(scope_of(row.network_id), "users", "phone", row.id, row.phone)
            ctx.session.execute(update(users).where(users.c.id == row.id)
                                .values(phone_index=phone_index(ctx, phone)))
        done += len(rows)
        if len(rows) < batch:
            return done


def encrypt(ctx: Ctx, network_id: uuid.UUID | None, user_id: uuid.UUID, column: str,
            value: str | None) -> bytes | None:
    return ctx.vault.encrypt(scope_of(network_id), "users", column, user_id, value)


def encrypt_address(ctx: Ctx, network_id: uuid.UUID | None, user_id: uuid.UUID,
                    address: dict[str, str] | None) -> bytes | None:
    text = json.dumps(address, sort_keys=True) if address else None
    return encrypt(ctx, network_id, user_id, "address", text)


@dataclass(frozen=True)
class Profile:
    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    address: dict[str, str] | None


def profile(ctx: Ctx, row: Row) -> Profile:
    scope = scope_of(row.network_id)

    def dec(column: str) -> str | None:
        return ctx.vault.decrypt(scope, "users", column, row.id, getattr(row, column))

    address = dec("address")
    return Profile(email=dec("email") or "", first_name=dec("first_name"),
                   last_name=dec("last_name"), phone=dec("phone"),
                   address=json.loads(address) if address else None)


def get_row(ctx: Ctx, user_id: object, for_update: bool = False) -> Row | None:
    uid = parse_uuid(user_id)
    if uid is None:
        return None
    query = select(users).where(users.c.id == uid)
    if for_update:
        query = query.with_for_update()
    return ctx.session.execute(query).first()


def row_of(ctx: Ctx, user_id: object) -> Row:
    """A user row that must exist (read back after a change): NotFound otherwise."""
    row = get_row(ctx, user_id)
    if row is None:
        raise NotFound("No such user")
    return row


def find_by_email(ctx: Ctx, email: str) -> Row | None:
    return ctx.session.execute(
        select(users).where(users.c.email_index == email_index(ctx, email))).first()


def insert_user(ctx: Ctx, *, network_id: uuid.UUID | None, role: str, status: str, email: str,
                first_name: str | None, last_name: str | None, now: datetime,
                password_hash: str | None = None, user_id: uuid.UUID | None = None) -> uuid.UUID:
    uid = user_id or uuid.uuid4()
    ctx.session.execute(users.insert().values(
        id=uid, network_id=network_id, role=role, status=status,
        email_index=email_index(ctx, email),
        email=encrypt(ctx, network_id, uid, "email", email),
        first_name=encrypt(ctx, network_id, uid, "first_name", first_name),
        last_name=encrypt(ctx, network_id, uid, "last_name", last_name),
        password_hash=password_hash, password_changed_at=now if password_hash else None,
        invited_at=now if status == AccountStatus.INVITED.value else None,
        status_changed_at=now, created_at=now,
        slug=slug_for(first_name, last_name) if role in ("user", "admin") else None))
    return uid


def actor(ctx: Ctx, *roles: str) -> Row:
    """The caller's own user row, active and (if given) in one of ``roles``."""
    principal = require(ctx.principal, *roles)
    return check_actor(principal, get_row(ctx, principal.user_id))


def check_actor(principal: Principal, row: Row | None) -> Row:
    """The principal's row still matches them and may act."""
    if row is None or row.role != principal.role:
        raise Unauthorized("Your session no longer matches an account", code="token_revoked")
    refusal = login_refusal(row.status)
    if refusal:
        raise Forbidden("This account cannot act any more", code=refusal)
    return row


def member_of_network(ctx: Ctx, member_id: object, network_id: uuid.UUID,
                      for_update: bool = False) -> Row:
    """A user of ``network_id``; any other id (other network, staff, malformed) is not found."""
    row = get_row(ctx, member_id, for_update=for_update)
    if row is None or row.network_id != network_id:
        raise NotFound("No such member")
    return row


def viewable_by_admin(member: Row) -> bool:
    """The member lets their admin look (art. 5) and their data may still be shown: not
    restricted (GDPR art. 18), not erased."""
    return bool(member.admin_access) and member.restricted_at is None and member.erased_at is None


def revoke_sessions(ctx: Ctx, user_id: uuid.UUID, now: datetime) -> None:
    ctx.session.execute(update(sessions)
                        .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
                        .values(revoked_at=now))


def set_status(ctx: Ctx, user_id: uuid.UUID, status: AccountStatus, now: datetime) -> None:
    ctx.session.execute(update(users).where(users.c.id == user_id)
                        .values(status=status.value, status_changed_at=now))


def office_active_ids(ctx: Ctx, user_ids: Iterable[uuid.UUID], today: date | None = None) -> set[uuid.UUID]:
    """Which of these users hold a paid subscription covering today."""
    ids = list(user_ids)
    if not ids:
        return set()
    day = today or clock.today()
    s = subscriptions.c
    rows = ctx.session.execute(select(s.user_id).where(
        s.user_id.in_(ids), s.status == "active", s.starts_on <= day, s.ends_on >= day))
    return {r.user_id for r in rows}


def member_dict(ctx: Ctx, row: Row, subscription_active: bool) -> dict[str, Any]:
    p = profile(ctx, row)
    return {"id": str(row.id), "email": p.email, "first_name": p.first_name,
            "last_name": p.last_name, "role": row.role, "status": row.status,
            "invited_at": iso(row.invited_at), "contract_concluded_at": iso(row.contract_concluded_at),
            "access_level_id": str(row.access_level_id) if row.access_level_id else None,
            "subscription_active": subscription_active, "admin_access": row.admin_access}


def brief(ctx: Ctx, row: Row) -> dict[str, Any]:
    """What other services need to know about a user."""
    p = profile(ctx, row)
    return {"id": str(row.id), "role": row.role,
            "network_id": str(row.network_id) if row.network_id else None,
            "status": row.status, "first_name": p.first_name, "last_name": p.last_name,
            "email": p.email}
