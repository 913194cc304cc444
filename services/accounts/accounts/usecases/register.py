"""What accounts gives compliance for the register (annex IV.14): its data map and the
controllers the platform acts for. Both entry points are ``@rpc_internal``."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, tuple_

from accounts.domain import data_map as declared
from accounts.domain.accounts import MEMBER_ROLES, AccountStatus
from accounts.models import users
from accounts.usecases.context import Ctx
from accounts.usecases.users import profile

BATCH = 500
#: a member is a controller while a contract binds them to the platform: concluded (first
#: login) and not ended (a suspension is a pause, not an end; closed, terminated and
#: erased accounts are no longer acted for)
CONTRACT_STATUSES = (AccountStatus.ACTIVE.value, AccountStatus.SUSPENDED.value)


def data_map() -> dict[str, Any]:
    return declared.data_map()


def register_controllers(ctx: Ctx) -> dict[str, Any]:
    """Every controller, all at once (read in pages of ``BATCH``), oldest account first:
    ``{count, items: [{user_id, network_id, name, email}]}``."""
    items: list[dict[str, Any]] = []
    after: tuple[Any, Any] | None = None
    u = users.c
    while True:
        query = select(users).where(
            u.role.in_(MEMBER_ROLES), u.status.in_(CONTRACT_STATUSES),
            u.contract_concluded_at.is_not(None), u.erased_at.is_(None))
        if after is not None:
            query = query.where(tuple_(u.created_at, u.id) > after)
        rows = ctx.session.execute(query.order_by(u.created_at, u.id).limit(BATCH)).all()
        for row in rows:
            p = profile(ctx, row)
            name = " ".join(part for part in (p.first_name, p.last_name) if part)
            items.append({"user_id": str(row.id), "network_id": str(row.network_id),
                          "name": name or p.email, "email": p.email})
        if len(rows) < BATCH:
            return {"count": len(items), "items": items}
        after = (rows[-1].created_at, rows[-1].id)
