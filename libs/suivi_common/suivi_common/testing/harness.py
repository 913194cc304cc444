"""The common part of what a service's integration tests drive: cached RPC clients to the
service, its events (a test queue bound to ``<service>.events``, drained into ``events``)
and direct SQL on its database. Each service's conftest adds its own scenarios."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from typing import Any

from kombu import Connection, Queue
from nameko.events import event_handler
from nameko.standalone.events import get_event_exchange
from sqlalchemy import text
from sqlalchemy.engine import Engine

from suivi_common.rpc import RpcClient


class ServiceHarness:
    def __init__(self, cfg: dict[str, Any], engine: Engine, service: str, queue: str) -> None:
        self.cfg = cfg
        self.engine = engine
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._service = service
        self._clients: dict[tuple[Any, ...], Any] = {}
        self._stack = ExitStack()
        self._conn = Connection(cfg["AMQP_URI"])
        self._queue = Queue(queue, exchange=get_event_exchange(service), routing_key="#",
                            durable=False, auto_delete=False)
        self._queue(self._conn.default_channel).declare()

    def rpc(self, principal: Mapping[str, Any] | None = None, service: str | None = None) -> Any:
        """The service, called by ``principal`` (a user, signed as the gateway signs one),
        by the ``service`` named (signed as that service), or anonymously."""
        key = (service, *sorted((principal or {}).items()))
        if key not in self._clients:
            client = RpcClient(self.cfg["AMQP_URI"], principal=principal, service=service)
            self._clients[key] = self._stack.enter_context(client)
        return getattr(self._clients[key], self._service)

    def drain(self) -> None:
        """Move the events published so far into ``events`` (``(type, payload)``)."""
        channel = self._conn.default_channel
        while True:
            message = self._queue(channel).get(no_ack=True)
            if message is None:
                return
            self.events.append((message.delivery_info["routing_key"], message.payload))

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(sql), params)

    def close(self) -> None:
        self._stack.close()
        self._conn.release()


def recording_handlers(source: str, event_types: Iterable[str],
                       record: Callable[[str, dict[str, Any]], None]) -> type:
    """A base class for a fake service: one event handler per type of ``source``'s events
    named, each passing what it receives to ``record(event_type, payload)``."""
    def handler(event_type: str) -> Callable[[Any, dict[str, Any]], None]:
        def on_event(self: Any, payload: dict[str, Any]) -> None:
            record(event_type, payload)
        return event_handler(source, event_type)(on_event)  # type: ignore[no-any-return]

    return type(f"{source}_recorder", (), {f"on_{t}": handler(t) for t in event_types})
