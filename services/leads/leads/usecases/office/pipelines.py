"""Each network's pipeline: stored per network (the default until its admin edits it).

Why a row is locked: a status is validated against the pipeline and then written to a
lead; an admin removing that status at the same time must not leave the lead in a status
that no longer exists. Writers of a lead's status hold the pipeline row ``FOR SHARE``
(many at once), the admin's replacement holds it ``FOR UPDATE``; the row is created with
the default pipeline the first time anyone needs to lock it.

Removing statuses that hold leads requires a remap (``domain.pipeline.plan_pipeline_change``,
Conflict ``pipeline_status_in_use`` otherwise). The remapped leads move in the same
transaction: each move is written to the history (source admin, via ``pipeline_change``)
and announced with ``lead_status_changed`` carrying ``cause: "pipeline_change"`` so that
automations can tell an admin's re-organisation from a prospecting move.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from leads.domain.pipeline import DEFAULT_PIPELINE, Pipeline, plan_pipeline_change
from leads.models import office_leads, office_pipelines
from leads.usecases.office import history
from leads.usecases.office.context import OfficeCtx, scope_of, unwrap_lead_key
from suivi_common.errors import Invalid


def _from_row(row: Any) -> Pipeline:
    return Pipeline(row.statuses, row.initial, row.terminal)


def load(session: Session, network_id: str) -> Pipeline:
    """The network's pipeline, unlocked (reads)."""
    row = session.execute(select(office_pipelines).where(
        office_pipelines.c.network_id == network_id)).first()
    return DEFAULT_PIPELINE if row is None else _from_row(row)


def locked(session: Session, network_id: str, exclusive: bool = False) -> tuple[Pipeline, Any]:
    """The pipeline with its row locked (share for lead writers, update for the admin)."""
    query = (select(office_pipelines).where(office_pipelines.c.network_id == network_id)
             .with_for_update(read=not exclusive))
    row = session.execute(query).first()
    if row is None:
        d = DEFAULT_PIPELINE.as_dict()
        session.execute(pg_insert(office_pipelines).values(
            network_id=network_id, statuses=d["statuses"], initial=d["initial"],
            terminal=d["terminal"], version=0)
            .on_conflict_do_nothing(index_elements=["network_id"]))
        row = session.execute(query).one()
    return _from_row(row), row


def view(pipeline: Pipeline, version: int = 0) -> dict[str, Any]:
    return {**pipeline.as_dict(), "version": version}


def get(session: Session, network_id: str) -> dict[str, Any]:
    row = session.execute(select(office_pipelines).where(
        office_pipelines.c.network_id == network_id)).first()
    if row is None:
        return view(DEFAULT_PIPELINE)
    return view(_from_row(row), row.version)


def replace(ctx: OfficeCtx, network_id: str, statuses: Any, initial: Any, terminal: Any,
            remap: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The admin's new pipeline; leads in removed statuses move as ``remap`` says."""
    if not isinstance(statuses, list) or not isinstance(terminal, list | None):
        raise Invalid("the pipeline is invalid", fields={"statuses": "must be a list"})
    if remap is not None and not isinstance(remap, Mapping):
        raise Invalid("the status mapping is invalid", fields={"remap": "must be an object"})
    new = Pipeline(statuses, initial, terminal or [])
    old, row = locked(ctx.session, network_id, exclusive=True)
    t = office_leads
    counts = dict(ctx.session.execute(
        select(t.c.status, func.count()).where(t.c.network_id == network_id,
                                               t.c.deleted_at.is_(None))
        .group_by(t.c.status)).tuples().all())
    mapping = plan_pipeline_change(old, new, counts, remap)
    moved = 0
    for source, target in sorted(mapping.items()):
        moved += _move(ctx, network_id, source, target)
    version = row.version + 1
    d = new.as_dict()
    ctx.session.execute(update(office_pipelines)
                        .where(office_pipelines.c.network_id == network_id)
                        .values(statuses=d["statuses"], initial=d["initial"],
                                terminal=d["terminal"], version=version, updated_at=ctx.now,
                                updated_by=ctx.actor.user_id))
    return {**view(new, version), "moved": moved}


def _move(ctx: OfficeCtx, network_id: str, source: str, target: str) -> int:
    t = office_leads
    rows = ctx.session.execute(
        update(t).where(t.c.network_id == network_id, t.c.status == source,
                        t.c.deleted_at.is_(None))
        .values(status=target, updated_at=ctx.now)
        .returning(t.c.id, t.c.owner_id, t.c.network_id, t.c.key_scope, t.c.lead_key)).all()
    entries = []
    for r in rows:
        key = unwrap_lead_key(ctx.vault, scope_of(r), r.id, r.lead_key)
        entries.append(history.entry(ctx, r.id, key, "status", source, target, "pipeline_change"))
        ctx.emit("lead_status_changed", {
            "lead_id": str(r.id), "user_id": r.owner_id, "network_id": r.network_id,
            "old_status": source, "new_status": target, "changed_at": ctx.now.isoformat(),
            "cause": "pipeline_change"})
    history.write(ctx.session, entries)
    return len(rows)
