"""Transactional outbox: events are rows written with the data they describe.

A relay publishes the rows to the service's topic exchange (``<service>.events``,
the exchange nameko's ``event_handler`` binds to) with publisher confirms, then
deletes them. A crash between publish and delete republishes: consumers dedupe by
message id, so every event takes effect exactly once. ``FOR UPDATE SKIP LOCKED``
lets several instances of a service relay in parallel without double-publishing.

Each event is published with the emitting service's signed principal, bound to its
message id (``principals.event_token``): consumers drop anything else. The rows keep only
the correlation id of the request that wrote them, never who asked.

Every event honours its contract (``suivi_common.events``): ``emit`` refuses an undeclared
event or a payload that does not match, and in dev and test the relay checks each row
before publishing it, so rows written set-based in SQL are held to it too.
"""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from suivi_common import events, principals, tls
from suivi_common.settings import is_dev
from suivi_common.tables import CommonTables

log = logging.getLogger(__name__)

PROPAGATED_CONTEXT = ("correlation_id",)
#: ``Session.info`` key counting the events written in that session (``database.autonomous``).
EMITTED = "suivi.emitted"
PRINCIPAL_HEADER = f"nameko.{principals.PRINCIPAL_KEY}"


def emit(session: Session, tables: CommonTables, event_type: str, payload: Mapping[str, Any],
         context: Mapping[str, Any] | None = None) -> uuid.UUID:
    """Record an event in the caller's transaction; it is published only if that commits.
    Raises ``events.ContractError`` if the event or its payload breaks its contract."""
    events.validate(event_type, payload)
    event_id = uuid.uuid4()
    session.execute(insert(tables.outbox).values(
        id=event_id, event_type=event_type, payload=dict(payload), headers=headers(context)))
    session.info[EMITTED] = session.info.get(EMITTED, 0) + 1
    return event_id


def headers(context: Mapping[str, Any] | None) -> dict[str, str]:
    """What an outbox row keeps of the worker's context (the correlation id), as headers."""
    return {f"nameko.{k}": str(v) for k, v in (context or {}).items()
            if k in PROPAGATED_CONTEXT and v is not None}


class OutboxRelay:
    def __init__(self, engine: Engine, tables: CommonTables, service_name: str,
                 amqp_uri: str, batch_size: int = 200) -> None:
        self.engine = engine
        self.table = tables.outbox
        self.service_name = service_name
        self.exchange = get_event_exchange(service_name)
        self.publisher = Publisher(amqp_uri, use_confirms=True, declare=[self.exchange],
                                   ssl=tls.ssl_for(amqp_uri))
        self.batch_size = batch_size
        self.check_contracts = is_dev()  # a bad row then stops the relay: loud, in dev and test
        self._wake = threading.Event()
        self._running = False

    def wake(self) -> None:
        self._wake.set()

    def publish_pending(self) -> int:
        """Publish one batch; returns how many rows went out."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(self.table).order_by(self.table.c.seq).limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if self.check_contracts:  # the whole batch, before any of it leaves
                for row in rows:
                    events.validate(row.event_type, row.payload)
            for row in rows:
                headers = {k: v for k, v in dict(row.headers).items()
                           if k.startswith("nameko.") and k[7:] in PROPAGATED_CONTEXT}
                headers[PRINCIPAL_HEADER] = principals.event_token(self.service_name, str(row.id))
                self.publisher.publish(
                    row.payload, exchange=self.exchange, routing_key=row.event_type,
                    extra_headers=headers, message_id=str(row.id),
                )
            if rows:
                conn.execute(delete(self.table).where(self.table.c.id.in_([r.id for r in rows])))
        return len(rows)

    def run_forever(self, idle_seconds: float = 0.5) -> None:
        import eventlet

        self._running = True
        failures = 0
        while self._running:
            try:
                sent = self.publish_pending()
                failures = 0
            except Exception:
                failures += 1
                log.exception("outbox relay failed; retrying")
                eventlet.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))
                continue
            if sent < self.batch_size:
                self._wake.wait(timeout=idle_seconds)
                self._wake.clear()
            else:
                eventlet.sleep(0)

    def stop(self) -> None:
        self._running = False
        self._wake.set()
