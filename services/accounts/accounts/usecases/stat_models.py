"""Statistics models (admin tool 3): the admin's CRUD, and who sees what of a model.

Another network's model, or a malformed id, is not found (IDOR). Reading a model's
figures starts here: ``stat_scope`` names the members the admin may see one by one
(terms art. 5: those whose admin access is on, not restricted nor erased); the gateway
then asks the service that holds the data.
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from accounts.domain import stat_models as rules
from accounts.domain.accounts import Role
from accounts.models import stat_models, users
from accounts.usecases.context import Ctx
from accounts.usecases.users import actor, iso, viewable_by_admin
from suivi_common import clock, paging
from suivi_common.errors import Conflict, NotFound
from suivi_common.ids import parse_uuid
from suivi_common.permissions import VIEW_STATISTICS, require_permission


def model_dict(row: Row) -> dict[str, Any]:
    return {"id": str(row.id), "name": row.name, "metric": row.metric,
            "grouping": row.grouping, "window_days": row.window_days,
            "created_by": str(row.created_by), "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at)}


def _model(ctx: Ctx, model_id: object, network_id: uuid.UUID | None, lock: bool = False) -> Row:
    parsed = parse_uuid(model_id)
    query = select(stat_models).where(stat_models.c.id == parsed,
                                      stat_models.c.network_id == network_id)
    row = ctx.session.execute(query.with_for_update() if lock else query).first() if parsed else None
    if row is None:
        raise NotFound("No such statistics model", code="stat_model_not_found")
    return row


def _name_taken() -> Conflict:
    return Conflict("A statistics model with this name exists", code="stat_model_name_taken",
                    fields={"name": "taken"})


def list_models(ctx: Ctx, cursor: object = None, limit: object = None) -> dict[str, Any]:
    """The network's models; members see them too (each on their own data)."""
    me = actor(ctx, Role.ADMIN.value, Role.USER.value)
    size = paging.check_limit(limit)
    rows = ctx.session.execute(paging.keyset(
        select(stat_models).where(stat_models.c.network_id == me.network_id),
        stat_models, cursor, size)).all()
    return paging.page(rows, size, [model_dict(r) for r in rows[:size]])


def create_model(ctx: Ctx, body: object) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    model = rules.clean(body)
    model_id, now = uuid.uuid4(), clock.now()
    try:
        with ctx.session.begin_nested():
            ctx.session.execute(stat_models.insert().values(
                id=model_id, network_id=me.network_id, name=model.name, metric=model.metric,
                grouping=model.grouping, window_days=model.window_days, created_by=me.id,
                created_at=now, updated_at=now))
    except IntegrityError:
        raise _name_taken() from None
    return model_dict(_model(ctx, model_id, me.network_id))


def update_model(ctx: Ctx, model_id: object, body: object) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    row = _model(ctx, model_id, me.network_id, lock=True)
    model = rules.clean(body)
    try:
        with ctx.session.begin_nested():
            ctx.session.execute(update(stat_models).where(stat_models.c.id == row.id).values(
                name=model.name, metric=model.metric, grouping=model.grouping,
                window_days=model.window_days, updated_at=clock.now()))
    except IntegrityError:
        raise _name_taken() from None
    return model_dict(_model(ctx, row.id, me.network_id))


def delete_model(ctx: Ctx, model_id: object) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value)
    row = _model(ctx, model_id, me.network_id, lock=True)
    ctx.session.execute(stat_models.delete().where(stat_models.c.id == row.id))
    return {"id": str(row.id), "deleted": True}


def get_model(ctx: Ctx, model_id: object) -> dict[str, Any]:
    me = actor(ctx, Role.ADMIN.value, Role.USER.value)
    return model_dict(_model(ctx, model_id, me.network_id))


def stat_scope(ctx: Ctx, model_id: object) -> dict[str, Any]:
    """A model and whose figures the caller sees: a member their own (if their level
    grants ``view_statistics``); the admin the network's, one by one only for the members
    in ``split``, every other member folded into one group."""
    me = actor(ctx, Role.ADMIN.value, Role.USER.value)
    row = _model(ctx, model_id, me.network_id)
    if me.role == Role.USER.value:
        require_permission(ctx.principal, VIEW_STATISTICS)
        return {"model": model_dict(row), "split": [str(me.id)], "whole_network": False}
    members = ctx.session.execute(select(users).where(
        users.c.network_id == me.network_id, users.c.role.in_([Role.USER.value, Role.ADMIN.value]))).all()
    split = [str(m.id) for m in members if m.id == me.id or viewable_by_admin(m)]
    return {"model": model_dict(row), "split": split, "whole_network": True}
