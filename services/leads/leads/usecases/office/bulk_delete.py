"""The owner deletes many leads in one step (issue 12 §2, terms 3.B.iv: the user must
delete the leads that never followed up): ``office_bulk_delete(filter)``, behind
``POST /api/leads/bulk-delete {filter}``.

``filter`` is the office listing's filters (``queries.parse_filters``: status, origin,
plan, creation dates, email, phone, postal code, city, and ``inactive_since``
(``YYYY-MM-DD``: no edit, note, status move or e-mail since that Paris day), the one the
stale-lead reminder links to), and must name at least one criterion: an empty filter
would empty the office. Each lead goes as a single delete would (``office.wiping``,
set-based, in batches of the worker's transaction), except those a single delete refuses
or must not touch: a pending refund claim awaits the platform's decision, and a
restricted lead is kept as its data subject asked (GDPR art. 18). Returns how many were
deleted and how many were kept for those reasons.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.sql.elements import ColumnElement

from leads.models import office_leads, refund_claims
from leads.usecases.office import queries, wiping
from leads.usecases.office.context import OfficeCtx
from suivi_common.errors import Invalid

T = office_leads
BATCH = 1000


def conditions(ctx: OfficeCtx, owner_id: str, scope: str,
               raw: Mapping[str, Any] | None) -> list[ColumnElement[bool]]:
    """The leads the filter names (refusing an empty one)."""
    if raw is not None and not isinstance(raw, Mapping):
        raise Invalid("invalid filter", fields={"filter": "an object"})
    f = queries.parse_filters(raw)
    if not f.redacted():
        raise Invalid("Say which leads to delete",
                      fields={"filter": "give at least one criterion"})
    return queries.conditions(ctx.vault, scope, owner_id, f)


def _kept() -> ColumnElement[bool]:
    pending = exists().where(refund_claims.c.lead_id == T.c.id,
                             refund_claims.c.status == "pending")
    return pending | T.c.restricted_at.is_not(None)


def bulk_delete(ctx: OfficeCtx, owner_id: str, scope: str,
                raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{deleted, kept}``: the matching leads are deleted, except ``kept`` ones."""
    where = conditions(ctx, owner_id, scope, raw)
    deleted = 0
    while True:
        ids = wiping.pick(ctx.session, [*where, ~_kept()], BATCH)
        deleted += wiping.wipe(ctx.session, ctx.emit, ids, ctx.now, reason="owner",
                               actor=ctx.actor.user_id, source=str(ctx.actor.source),
                               via="delete", erase=False)
        if len(ids) < BATCH:
            break
    kept = ctx.session.execute(select(func.count()).select_from(T)
                               .where(*where, _kept())).scalar_one()
    return {"deleted": deleted, "kept": int(kept)}
