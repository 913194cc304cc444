"""The edit history of office leads (terms 3.B.ii): append-only, values sealed per lead.

Every path that changes a lead writes here in the same transaction as the change: edits
(``edit``), status moves (``status``), notes (``note``), pipeline remaps
(``pipeline_change``), deletion (``delete``) and erasure (``erasure``). The source says
through which path (user, admin, staff, system), ``actor_id`` who. Nothing here updates or
deletes, and the database refuses it too (a trigger, in the migrations).
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from leads.domain.refunds import edited_by_user
from leads.models import office_history
from leads.usecases.office.context import OfficeCtx, open_value, seal_value
from suivi_common.paging import decode_cursor, encode_cursor


def entry(ctx: OfficeCtx, lead_id: Any, lead_key: bytes | None, field: str, old: Any, new: Any,
          via: str) -> dict[str, Any]:
    hid = uuid.uuid4()
    return {"id": hid, "lead_id": lead_id, "field": field,
            "old_value": seal_value(lead_key, "old_value", hid, old),
            "new_value": seal_value(lead_key, "new_value", hid, new),
            "actor_id": ctx.actor.user_id, "source": str(ctx.actor.source), "via": via,
            "changed_at": ctx.now}


def write(session: Session, entries: Sequence[Mapping[str, Any]]) -> None:
    if entries:
        session.execute(insert(office_history), list(entries))


def user_edited(session: Session, lead_id: Any) -> bool:
    """Did the owner edit the lead's personal data (the refund rule's question)?"""
    rows = session.execute(select(office_history.c.source, office_history.c.field)
                           .where(office_history.c.lead_id == lead_id)).tuples()
    return edited_by_user(rows)


def page(session: Session, lead_id: Any, lead_key: bytes | None, cursor: str | None,
         limit: int) -> dict[str, Any]:
    """Oldest first (it reads as a story); values None once the lead's key is forgotten."""
    (after,) = decode_cursor(cursor, int, kind="history") or (0,)
    t = office_history
    rows = session.execute(select(t).where(t.c.lead_id == lead_id, t.c.seq > after)
                           .order_by(t.c.seq).limit(limit + 1)).all()
    items = [_view(r, lead_key) for r in rows[:limit]]
    more = len(rows) > limit
    return {"items": items,
            "next_cursor": encode_cursor(rows[limit - 1].seq, kind="history") if more else None}


def _view(row: Any, lead_key: bytes | None) -> dict[str, Any]:
    return {"id": str(row.id), "field": row.field,
            "old": open_value(lead_key, "old_value", row.id, row.old_value),
            "new": open_value(lead_key, "new_value", row.id, row.new_value),
            "actor_id": row.actor_id, "source": row.source, "via": row.via,
            "changed_at": row.changed_at.isoformat(),
            "redacted": lead_key is None and (row.old_value is not None
                                              or row.new_value is not None)}


def entries_for(ctx: OfficeCtx, lead_id: Any, lead_key: bytes | None,
                changes: Iterable[Any], via: str) -> list[dict[str, Any]]:
    return [entry(ctx, lead_id, lead_key, c.field, c.old, c.new, via) for c in changes]
