"""The opposition list (GDPR art. 21): the persons who objected, as platform-scope blind
indexes of their e-mail and phone (the ``contacts`` kinds), never their address.

Capture refuses a lead of a person on the list (``usecases.capture``), so a person who
objected is never put on sale again; an erasure leaves the list alone (annex IV.8: an
earlier objection stays, as a blind index only, so that it is still honoured).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from leads.models import subject_objections

_OBJECTED = text("""
SELECT o.kind, o.digest FROM subject_objections o
JOIN unnest(CAST(:kinds AS text[]), CAST(:digests AS bytea[])) AS k(kind, digest)
  ON o.kind = k.kind AND o.digest = k.digest
""")


def objected(session: Session, keys: Iterable[tuple[str, bytes]]) -> set[tuple[str, bytes]]:
    """Which of these (kind, platform digest) keys are on the list."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    rows = session.execute(_OBJECTED, {"kinds": [k for k, _ in wanted],
                                       "digests": [d for _, d in wanted]})
    return {(r.kind, bytes(r.digest)) for r in rows}


def record(session: Session, keys: Iterable[tuple[str, bytes]], request_id: str,
           now: datetime) -> int:
    """Put these keys on the list (a key already there keeps its first request); returns
    how many were new."""
    rows = [{"kind": k, "digest": d, "request_id": request_id, "recorded_at": now}
            for k, d in sorted(set(keys))]
    if not rows:
        return 0
    added = session.execute(pg_insert(subject_objections).values(rows)
                            .on_conflict_do_nothing().returning(subject_objections.c.kind))
    return len(added.all())
