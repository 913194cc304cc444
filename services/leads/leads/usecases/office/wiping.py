"""Erasing many office leads at once, set-based (the retention sweep, the owner's bulk
delete): the same wipe as ``one_lead._wipe`` (record, initial record, key, search keys,
notes, claim evidence; one history entry each), plus the lead's captured copy
(``leads.pii`` under the buyer's key), in a fixed number of statements per batch.

Rows are picked ``FOR UPDATE SKIP LOCKED`` in id order: instances (and a concurrent edit)
never wait on each other, and a wiped row no longer matches, so running again resumes
where a crash left off and does nothing once all is done.

Each batch announces what it wiped with one ``office_leads_erased {user_id, network_id,
lead_ids, reason, erased_at}`` per owner: the mailer forgets those leads' e-mail history.
It is not ``lead_erased``, whose owner notice says the *person* asked for the erasure.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from leads.models import office_leads

ERASED_EVENT = "office_leads_erased"
Emit = Callable[[str, Mapping[str, Any]], Any]
T = office_leads

_WIPE = text("""
WITH wiped AS (
    UPDATE office_leads l SET data = NULL, initial_data = NULL, lead_key = NULL,
        email_bidx = NULL, mobile_bidx = NULL, landline_bidx = NULL, postal_bidx = NULL,
        city_bidx = NULL, updated_at = :now,
        erased_at = CASE WHEN :erase THEN :now ELSE l.erased_at END,
        erased_reason = coalesce(l.erased_reason, :reason),
        deleted_at = coalesce(l.deleted_at, :now), deleted_by = coalesce(l.deleted_by, :actor)
    WHERE l.id = ANY(:ids)
    RETURNING l.id, l.owner_id, l.network_id
), notes AS (
    DELETE FROM office_notes n USING wiped w WHERE n.lead_id = w.id
), claims AS (
    UPDATE refund_claims c SET checks = NULL, comment = NULL FROM wiped w WHERE c.lead_id = w.id
), captured AS (
    UPDATE leads c SET pii = NULL, email_bidx = NULL, mobile_bidx = NULL, landline_bidx = NULL,
        erased_at = :now
    FROM wiped w WHERE c.id = w.id AND c.pii IS NOT NULL
), logged AS (
    INSERT INTO office_history (id, lead_id, field, actor_id, source, via, changed_at)
    SELECT gen_random_uuid(), id, 'record', :actor, :source, :via, :now FROM wiped
)
SELECT owner_id, network_id, array_agg(id ORDER BY id) AS ids FROM wiped
GROUP BY owner_id, network_id ORDER BY owner_id, network_id
""")


#: a row that still holds data: the predicate of ``ix_office_owner_holding``
HOLDS = T.c.data.is_not(None) | T.c.lead_key.is_not(None)


def pick(session: Session, where: Sequence[ColumnElement[bool]], limit: int) -> list[Any]:
    """Up to ``limit`` ids of leads matching ``where`` that still hold data, locked (one
    owner's: in id order straight from ``ix_office_owner_holding``)."""
    return list(session.execute(
        select(T.c.id).where(*where, HOLDS)
        .order_by(T.c.id).limit(limit).with_for_update(skip_locked=True)).scalars())


def wipe(session: Session, emit: Emit, ids: Sequence[Any], now: datetime, *, reason: str,
         actor: str, source: str, via: str, erase: bool) -> int:
    """Wipe these leads (hidden from the office as deleted; ``erase`` also marks them
    erased, with ``reason``); returns how many."""
    if not ids:
        return 0
    groups = session.execute(_WIPE, {"ids": list(ids), "now": now, "erase": erase,
                                     "reason": reason, "actor": actor, "source": source,
                                     "via": via}).all()
    for g in groups:
        emit(ERASED_EVENT, {"user_id": g.owner_id, "network_id": g.network_id,
                            "lead_ids": [str(i) for i in g.ids], "reason": reason,
                            "erased_at": now.isoformat()})
    return sum(len(g.ids) for g in groups)
