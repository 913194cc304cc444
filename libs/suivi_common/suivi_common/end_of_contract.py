"""The end-of-contract contract every service holding a controller's data reads (annex
IV.12): compliance asks for the controller's data (``controller_data_requested``), then for
its destruction (``controller_shred_requested``); each holder answers with the two events
below. The message format and the once-only record of a destruction are the same
everywhere, so they live here; what each service reads and destroys stays in that service.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, Row, String, Table, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from suivi_common.errors import Invalid

DATA_EVENT = "controller_data_reported"
SHREDDED_EVENT = "controller_data_shredded"
#: the longest user id kept (accounts' are short strings)
MAX_USER_ID = 64


def define_controller_shreds(metadata: MetaData) -> Table:
    """One row per controller whose data was destroyed: what went and the keys shredded, so
    a repeated request reports the same counts and key ids instead of acting twice."""
    return Table(
        "controller_shreds", metadata,
        Column("user_id", String(64), primary_key=True),
        Column("contract_id", String(64), nullable=False),
        Column("shredded_at", DateTime(timezone=True), nullable=False),
        Column("counts", JSONB, nullable=False),
        Column("keys", JSONB, nullable=False),  # [{scope, key_id}]
    )


def contract_of(payload: Any) -> tuple[str, str]:
    """``(contract_id, user_id)`` of a request; ``Invalid`` (a dead letter) otherwise."""
    if not isinstance(payload, Mapping):
        raise Invalid("the payload is not an object")
    contract_id, user_id = payload.get("contract_id"), payload.get("user_id")
    if not isinstance(contract_id, str) or not contract_id or not isinstance(user_id, str) \
            or not user_id or len(user_id) > MAX_USER_ID:
        raise Invalid("contract_id and user_id are required")
    return contract_id, user_id


def shred_of(session: Session, shreds: Table, user_id: str) -> Row[Any] | None:
    return session.execute(select(shreds).where(shreds.c.user_id == user_id)).first()


def data_report(session: Session, shreds: Table, service: str, payload: Any,
                read: Callable[[str], Mapping[str, list[Any]]],
                rekey: Callable[[str], object] | None = None) -> dict[str, Any]:
    """``controller_data_reported``'s payload for a request: ``read(user_id)`` (the
    service's rows of that controller, by kind), after ``rekey(user_id)`` (its rows onto the
    controller's own keys), or, once destroyed, a report that says so (nothing re-keyed).
    The service emits it (in its own transaction and outbox)."""
    contract_id, user_id = contract_of(payload)
    base = {"contract_id": contract_id, "user_id": user_id, "service": service}
    if shred_of(session, shreds, user_id) is not None:
        return {**base, "records": 0, "error": "the controller's data was already destroyed"}
    if rekey is not None:
        rekey(user_id)
    data = dict(read(user_id))
    return {**base, "records": sum(len(v) for v in data.values()), "data": data}


def record_shred(session: Session, shreds: Table, *, user_id: str, contract_id: str,
                 at: datetime, counts: Mapping[str, int],
                 keys: list[dict[str, str]]) -> Row[Any]:
    """Record the destruction once (a concurrent twin's row wins) and return the record."""
    session.execute(pg_insert(shreds).values(
        user_id=user_id, contract_id=contract_id, shredded_at=at, counts=dict(counts),
        keys=keys).on_conflict_do_nothing(index_elements=["user_id"]))
    return session.execute(select(shreds).where(shreds.c.user_id == user_id)).one()


def shredded_report(service: str, contract_id: str, record: Row[Any]) -> dict[str, Any]:
    """``controller_data_shredded``'s payload, the same on every repeat."""
    return {"contract_id": contract_id, "user_id": record.user_id, "service": service,
            "shredded_at": record.shredded_at.isoformat(), "counts": dict(record.counts),
            "keys": list(record.keys)}
