"""Terms of service versions and their acceptance (terms art. 2, 14)."""
from __future__ import annotations

import ipaddress
import uuid
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts.domain import terms as rules
from accounts.domain.accounts import MEMBER_ROLES, AccountStatus
from accounts.models import terms_acceptances, terms_versions, users
from accounts.usecases.context import Ctx
from accounts.usecases.users import actor, iso, profile, scope_of
from suivi_common import clock
from suivi_common.errors import Conflict, Invalid, NotFound


def current_version(ctx: Ctx) -> str | None:
    return ctx.session.execute(select(terms_versions.c.version)
                               .order_by(terms_versions.c.seq.desc()).limit(1)).scalar()


def _dict(row: Any) -> dict[str, Any]:
    return {"version": row.version, "text": row.text, "published_at": iso(row.published_at)}


def current_terms(ctx: Ctx) -> dict[str, Any]:
    row = ctx.session.execute(select(terms_versions).order_by(terms_versions.c.seq.desc())
                              .limit(1)).first()
    if row is None:
        raise NotFound("No terms published yet")
    return _dict(row)


def accept_terms(ctx: Ctx, version: object, ip: object) -> dict[str, Any]:
    user = actor(ctx, *MEMBER_ROLES)
    try:
        client_ip = str(ipaddress.ip_address(str(ip).strip()))
    except ValueError:
        raise Invalid("The client IP address is required", fields={"ip": "not an IP address"}) from None
    current = current_version(ctx)
    if not isinstance(version, str) or version != current:
        raise Conflict(f"The current terms are version {current}; please read them again",
                       code="terms_version_mismatch")
    t = terms_acceptances.c
    now = clock.now()
    row_id = uuid.uuid4()
    ctx.session.execute(pg_insert(terms_acceptances).values(
        id=row_id, user_id=user.id, version=version, accepted_at=now,
        ip=ctx.vault.encrypt(scope_of(user.network_id), "terms_acceptances", "ip", row_id, client_ip),
    ).on_conflict_do_nothing(index_elements=["user_id", "version"]))
    accepted_at = ctx.session.execute(select(t.accepted_at).where(
        t.user_id == user.id, t.version == version)).scalar_one()
    return {"version": version, "accepted_at": iso(accepted_at)}


def publish_terms(ctx: Ctx, version: object, text: object) -> dict[str, Any]:
    actor(ctx, "staff")
    fields = {k: v for k, v in (("version", rules.version_problem(version)),
                                ("text", rules.text_problem(text))) if v}
    if fields:
        raise Invalid("The new terms are not valid", fields=fields)
    now = clock.now()
    try:
        with ctx.session.begin_nested():
            ctx.session.execute(terms_versions.insert().values(version=version, text=text,
                                                               published_at=now))
    except IntegrityError:
        raise Conflict(f"Version {version} was already published", code="terms_version_exists") from None
    ctx.emit("terms_published", {"version": version, "published_at": iso(now)})
    members = ctx.session.execute(select(users).where(
        users.c.role.in_(MEMBER_ROLES), users.c.status == AccountStatus.ACTIVE.value))
    for member in members:
        prof = profile(ctx, member)
        ctx.emit("terms_notice", {"user_id": str(member.id), "email": prof.email,
                                  "first_name": prof.first_name, "version": version})
    return {"version": version, "text": text, "published_at": iso(now)}


def list_terms(ctx: Ctx, limit: object = 50) -> dict[str, Any]:
    """The published versions, newest first (staff): version, date, length and whether it
    is the current one; the texts themselves stay with ``current_terms``."""
    actor(ctx, "staff")
    size = limit if isinstance(limit, int) and not isinstance(limit, bool) else 50
    size = max(1, min(size, 200))
    t = terms_versions.c
    rows = ctx.session.execute(select(t.version, t.published_at, func.length(t.text).label("size"))
                               .order_by(t.seq.desc()).limit(size)).all()
    return {"items": [{"version": r.version, "published_at": iso(r.published_at),
                       "characters": int(r.size), "current": i == 0}
                      for i, r in enumerate(rows)], "next_cursor": None}


def seed_initial(session: Session) -> None:
    """Publish the initial version when none exists (first start of a platform)."""
    if session.execute(select(terms_versions.c.version).limit(1)).first() is not None:
        return
    text = resources.files("accounts").joinpath(rules.INITIAL_TEXT_RESOURCE).read_text("utf-8")
    session.execute(pg_insert(terms_versions).values(
        version=rules.INITIAL_VERSION, text=text, published_at=clock.now()
    ).on_conflict_do_nothing(index_elements=["version"]))
