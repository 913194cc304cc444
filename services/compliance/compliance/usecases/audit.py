"""The audit trail: append in the same transaction as the action it records, page it,
verify its chain (rules in ``compliance.domain.audit_chain``).

Appends are serialised by the head row's lock (``SELECT ... FOR UPDATE``): the second of two
racing appends waits for the first to commit, then reads its hash, so the chain never forks.
The lock is held until the appender's transaction ends, so use cases append last.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from compliance.domain import audit_chain, audit_events
from compliance.domain.audit_chain import GENESIS, Entry, StoredEntry
from compliance.models import audit_entries as T
from compliance.models import audit_head as H
from compliance.usecases import paging
from compliance.usecases.context import Ctx
from suivi_common import clock
from suivi_common.errors import Invalid

HEAD_ID = 1
VERIFY_BATCH = 1000


def _lock_head(session: Session) -> tuple[int, str]:
    session.execute(pg_insert(H).values(id=HEAD_ID, seq=0, hash=GENESIS)
                    .on_conflict_do_nothing(index_elements=["id"]))
    row = session.execute(select(H.c.seq, H.c.hash).where(H.c.id == HEAD_ID)
                          .with_for_update()).one()
    return int(row.seq), str(row.hash)


def append(ctx: Ctx, kind: str, subject: Mapping[str, Any], details: Mapping[str, Any],
           actor: Mapping[str, Any] | None = None, source_message: str | None = None
           ) -> dict[str, Any] | None:
    """Add one entry after the current head; None if ``source_message`` is already logged."""
    session = ctx.session
    seq, prev_hash = _lock_head(session)
    if source_message is not None and session.execute(
            select(T.c.seq).where(T.c.source_message == source_message)).first():
        return None
    entry = Entry(seq=seq + 1, recorded_at=clock.now(), kind=kind,
                  actor=dict(actor if actor is not None else ctx.actor()),
                  subject=dict(subject), details=dict(details), prev_hash=prev_hash)
    digest = audit_chain.entry_hash(entry)
    session.execute(T.insert().values(
        seq=entry.seq, id=uuid.uuid4(), recorded_at=entry.recorded_at, kind=kind,
        actor=entry.actor, subject=entry.subject, details=entry.details, prev_hash=prev_hash,
        hash=digest, source_message=source_message))
    session.execute(update(H).where(H.c.id == HEAD_ID).values(seq=entry.seq, hash=digest))
    return _view_entry(entry, digest)


def record_event(ctx: Ctx, source: str, event_type: str, payload: Mapping[str, Any],
                 message_id: str | None) -> None:
    """An audited fact of another service (idempotent: one entry per event message)."""
    kind, actor, subject, details = audit_events.entry_of(source, event_type, payload)
    append(ctx, kind, subject, details, actor=actor,
           source_message=f"{source}:{message_id}" if message_id else None)


def _view_entry(entry: Entry, digest: str) -> dict[str, Any]:
    return {**entry.content(), "hash": digest}


def _stored(row: Any) -> StoredEntry:
    return StoredEntry(Entry(seq=row.seq, recorded_at=row.recorded_at, kind=row.kind,
                             actor=row.actor, subject=row.subject, details=row.details,
                             prev_hash=row.prev_hash), row.hash)


def list_entries(ctx: Ctx, cursor: object = None, limit: object = None,
                 kind: object = None) -> dict[str, Any]:
    """Newest first, paged by sequence number."""
    ctx.compliance_staff()
    size = paging.check_limit(limit)
    query = select(T).order_by(T.c.seq.desc()).limit(size + 1)
    key = paging.decode(cursor)
    if key is not None:
        if len(key) != 1 or not isinstance(key[0], int):
            raise Invalid("Invalid cursor", fields={"cursor": "invalid"})
        query = query.where(T.c.seq < key[0])
    if kind not in (None, ""):
        query = query.where(T.c.kind == kind)
    items = [_view_entry(s.entry, s.hash) for s in map(_stored, ctx.session.execute(query))]
    return paging.page(items, size, lambda item: [item["seq"]])


def _all_entries(session: Session) -> Iterator[StoredEntry]:
    last = 0
    while True:
        rows = session.execute(select(T).where(T.c.seq > last).order_by(T.c.seq)
                               .limit(VERIFY_BATCH)).all()
        if not rows:
            return
        for row in rows:
            yield _stored(row)
        last = rows[-1].seq


def verify(ctx: Ctx) -> dict[str, Any]:
    """Walk the whole chain from the first entry; report the first problem found."""
    ctx.compliance_staff()
    session = ctx.session
    # one snapshot for the head and every entry: appends committing meanwhile are not seen
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    head = session.execute(select(H.c.seq, H.c.hash).where(H.c.id == HEAD_ID)).first()
    head_seq, head_hash = (int(head.seq), str(head.hash)) if head else (0, GENESIS)
    check = audit_chain.verify(_all_entries(session), head_seq, head_hash)
    return {"ok": check.problem is None, "entries_checked": check.checked,
            "head": {"seq": head_seq, "hash": head_hash},
            "problem": check.problem.as_dict() if check.problem else None,
            "verified_at": clock.now().isoformat()}
