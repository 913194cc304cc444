"""The access and portability export (rules and format in ``compliance.domain.export``):
download it while it is available, destroy it when its time is over (timer).

The archive is built at the first download, from the stored answers and the data maps of
the services that found the person (asked over RPC, the register's way, with no lock
held), then stored (encrypted) under the request's row lock, after checking again that
the export has not been destroyed meanwhile; every later download serves those same bytes.
The destruction takes the same lock, so an archive is never stored after it, nor served
from a request it has destroyed. Every download and every destruction is in the audit
trail (ids and dates only).
"""
from __future__ import annotations

import base64
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from compliance.domain import export as rules
from compliance.domain.register import activities_of
from compliance.domain.requests import RuleError, Status
from compliance.models import dsr_exports as X
from compliance.models import dsr_requests as R
from compliance.models import dsr_tasks as K
from compliance.usecases import answers, audit, register, requests
from compliance.usecases.context import Ctx
from suivi_common import clock
from suivi_common.crypto import KeyDestroyed
from suivi_common.errors import Conflict

log = logging.getLogger(__name__)

SWEEP_BATCH = 200
#: the SQL pre-filter's margin over "days x 24 h": a Paris calendar day is 23 to 25 hours
_DST_MARGIN = timedelta(hours=2)


def _subject(row: Any) -> dict[str, str]:
    return {"type": "data_subject_request", "id": str(row.id)}


def _check(ctx: Ctx, row: Any) -> rules.ExportState:
    state = requests.export_state(ctx, row)
    try:
        rules.check_downloadable(state, row.status)
    except RuleError as err:
        raise requests.refusal(err) from None
    return state


def _build(ctx: Ctx, row: Any, state: rules.ExportState) -> rules.Archive:
    tasks = list(ctx.session.execute(select(K).where(K.c.request_id == row.id)
                                     .order_by(K.c.service)))
    maps, missing = register.declared_maps(ctx, [t.service for t in tasks if t.found])
    person = requests.decrypted_subject(ctx, row)
    assert state.available_until is not None
    return rules.build(
        rules.RequestFacts(str(row.id), row.kind, row.received_at, row.completed_at,
                           person["email"], person["phone"]),
        [rules.Answer(t.service, t.found, t.records_affected, t.answered_at,
                      answers.open_(ctx, row.id, t.service, t.data)) for t in tasks],
        activities_of(maps), missing,
        {"name": ctx.settings.processor_name, "dpo": {"name": ctx.settings.dpo_name or None,
                                                     "email": ctx.settings.dpo_email or None}},
        clock.now(), state.available_until)


def download(ctx: Ctx, request_id: object) -> dict[str, Any]:
    """The archive of a completed access or portability request, base64 (an RPC reply is
    JSON), with its file name; 409 before completion or for another kind, ``gone``
    (``export_destroyed``, ``export_expired``) once destroyed or past its time."""
    ctx.compliance_staff()
    row = requests.load_request(ctx, request_id)
    state = _check(ctx, row)
    fresh = None
    if ctx.session.execute(select(X.c.request_id).where(X.c.request_id == row.id)).first() \
            is None:
        try:
            fresh = _build(ctx, row, state)
        except KeyDestroyed:
            pass  # destroyed meanwhile: the check under the lock says so
    row = requests.load_request(ctx, row.id, lock=True)
    state = _check(ctx, row)  # destroyed while it was being built: nothing is stored
    until = state.available_until.isoformat() if state.available_until else None
    if fresh is not None:
        ctx.session.execute(pg_insert(X).values(
            request_id=row.id, built_at=clock.now(), filename=fresh.filename,
            size=len(fresh.content),
            archive=answers.seal_archive(ctx, row.id, base64.b64encode(fresh.content).decode()))
            .on_conflict_do_nothing(index_elements=["request_id"]))
    stored = ctx.session.execute(select(X).where(X.c.request_id == row.id)).first()
    if stored is None:
        raise Conflict("The export could not be read; try again", code="export_unreadable")
    audit.append(ctx, "dsr.export_downloaded", _subject(row),
                 {"kind": row.kind, "built_at": stored.built_at.isoformat(),
                  "available_until": until})
    return {"filename": stored.filename, "content_type": rules.CONTENT_TYPE,
            "size": stored.size, "content_b64": answers.open_archive(ctx, row.id, stored.archive),
            "available_until": until}


def destroy_expired(ctx: Ctx, limit: int = SWEEP_BATCH) -> int:
    """Destroy every export whose time is over (timer; idempotent: a destroyed export is
    never looked at again). Returns how many were destroyed."""
    now, days = clock.now(), ctx.settings.dsr_export_days
    rows = ctx.session.execute(
        select(R).where(R.c.export_destroyed_at.is_(None),
                        R.c.status == Status.COMPLETED.value,
                        R.c.kind.in_([k.value for k in rules.EXPORT_KINDS]),
                        R.c.completed_at <= now - timedelta(days=days) + _DST_MARGIN)
        .order_by(R.c.completed_at).limit(limit)
        .with_for_update(skip_locked=True)).all()
    destroyed = 0
    for row in rows:
        state = rules.state(row.kind, row.status, row.completed_at, row.export_destroyed_at,
                            now, days)
        if not rules.is_due_for_destruction(state, now):
            continue  # within the pre-filter's margin, not due yet
        dropped = answers.drop(ctx, row.id)
        ctx.session.execute(update(R).where(R.c.id == row.id).values(
            export_destroyed_at=now, updated_at=now))
        audit.append(ctx, "dsr.export_destroyed", _subject(row), {
            "kind": row.kind, "completed_at": row.completed_at.isoformat(),
            "available_until": state.available_until.isoformat()
            if state.available_until else None,
            "services": dropped["services"], "archive_built": dropped["archive"]})
        destroyed += 1
    if destroyed:
        log.info("destroyed %d data-subject export(s)", destroyed)
    return destroyed
