"""Event handlers that never lose an event and never apply one twice.

Stock nameko acks an event whose handler raised, so the event is gone. Here:

* the message id is claimed in the service's ``inbox`` table inside the handler's
  own transaction (see ``Database.before_call``): a redelivered event is skipped;
* a handler that raises is retried with backoff: the message is republished to a
  per-delay queue whose TTL dead-letters it back onto the handler's queue, and only
  then is the original acked (if that publish fails, the original is requeued);
* after the last attempt the message is stored in the service's ``dead_letters``
  table (then acked); staff list and replay them through the gateway;
* an event must carry the signed principal of the service it claims to come from, bound
  to its message id (the outbox relay signs it): anything else (unsigned, forged, signed
  by another service, or for another message) is dropped with a warning before any
  handler runs. A replayed dead letter is signed afresh for its source.
"""
from __future__ import annotations

import hashlib
import json
import logging
import traceback
from collections.abc import Callable
from typing import Any

from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher
from nameko.events import SERVICE_POOL, EventHandler
from nameko.messaging import decode_from_headers

from suivi_common import principals, tls
from suivi_common.container import INBOX_CONTEXT_KEY
from suivi_common.settings import setting

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-suivi-attempt"
DEFAULT_RETRY_DELAYS_MS = (500, 2000, 8000, 30000)
DEFAULT_EXCHANGE = Exchange("", type="direct")


def retry_delays() -> list[int]:
    """Backoff schedule; its length + 1 is the number of attempts before dead-lettering."""
    raw = setting("EVENT_RETRY_DELAYS_MS", DEFAULT_RETRY_DELAYS_MS)
    if isinstance(raw, str):
        raw = json.loads(raw)
    return [int(d) for d in raw]


def message_id_of(message: Any) -> str:
    """The AMQP message id (at most 200 characters), else a hash of the body."""
    mid = message.properties.get("message_id")
    if mid:
        return str(mid)[:200]
    return hashlib.sha256(message.body if isinstance(message.body, bytes)
                          else str(message.body).encode()).hexdigest()


class ReliableEventHandler(EventHandler):
    def __init__(self, source_service: str, event_type: str, **kwargs: Any) -> None:
        super().__init__(source_service, event_type, handler_type=SERVICE_POOL,
                         reliable_delivery=True, requeue_on_error=False, **kwargs)

    @property
    def handler_name(self) -> str:
        return f"{self.container.service_name}.{self.method_name}"

    def setup(self) -> None:
        super().setup()
        self.publisher = Publisher(self.amqp_uri, use_confirms=True, ssl=tls.ssl_for(self.amqp_uri))

    def _database(self) -> Any:
        from suivi_common.database import Database

        for dep in self.container.dependencies:
            if isinstance(dep, Database):
                return dep
        raise RuntimeError("a reliable handler needs a Database dependency on its service")

    def handle_message(self, body: Any, message: Any) -> None:
        context_data = {k: v for k, v in decode_from_headers(message.headers).items()
                        if not k.startswith("x-")}
        message_id = message_id_of(message)
        if not self._signed_by_source(context_data, message_id):
            log.warning("event %s %s.%s dropped: not signed by %s", message_id,
                        self.source_service, self.event_type, self.source_service)
            self.consumer.ack_message(message)
            return
        context_data[INBOX_CONTEXT_KEY] = {"message_id": message_id,
                                           "handler": self.handler_name}

        def handle_result(worker_ctx: Any, result: Any, exc_info: Any) -> Any:
            self._settle(message, body, exc_info)
            return result, exc_info

        def spawn_worker() -> None:
            from nameko.exceptions import ContainerBeingKilled
            try:
                self.container.spawn_worker(self, (body,), {}, context_data=context_data,
                                            handle_result=handle_result)
            except ContainerBeingKilled:
                self.consumer.requeue_message(message)

        self.container.spawn_managed_thread(spawn_worker)

    def _signed_by_source(self, context_data: dict[str, Any], message_id: str) -> bool:
        """The event's principal is its source service's, for this very message."""
        principal = principals.verify(context_data.get(principals.PRINCIPAL_KEY),
                                      principals.event_audience(message_id))
        return (principal is not None and principal.is_service
                and principal.user_id == self.source_service)

    def _settle(self, message: Any, body: Any, exc_info: Any) -> None:
        if exc_info is None:
            self.consumer.ack_message(message)
            return
        attempt = int(message.headers.get(ATTEMPT_HEADER, 1))
        delays = retry_delays()
        error = "".join(traceback.format_exception(*exc_info))
        try:
            if attempt <= len(delays):
                self._schedule_retry(message, body, attempt, delays[attempt - 1])
            else:
                self._database().store_dead_letter(
                    queue=self.queue.name, handler=self.handler_name,
                    message_id=message_id_of(message), payload=body,
                    headers=message.headers, error=error, attempts=attempt)
                log.error("event %s dead-lettered after %d attempts", self.queue.name, attempt)
        except Exception:
            log.exception("could not schedule retry or dead-letter; requeueing")
            self.consumer.requeue_message(message)
            return
        self.consumer.ack_message(message)

    def _schedule_retry(self, message: Any, body: Any, attempt: int, delay_ms: int) -> None:
        retry_queue = Queue(
            f"{self.queue.name}.retry.{delay_ms}", exchange=DEFAULT_EXCHANGE,
            routing_key=f"{self.queue.name}.retry.{delay_ms}", durable=True,
            queue_arguments={"x-message-ttl": delay_ms, "x-dead-letter-exchange": "",
                             "x-dead-letter-routing-key": self.queue.name})
        headers = dict(message.headers)
        headers[ATTEMPT_HEADER] = attempt + 1
        self.publisher.publish(body, exchange=DEFAULT_EXCHANGE, routing_key=retry_queue.name,
                               declare=[retry_queue], headers=headers,
                               message_id=message_id_of(message))

    def replay(self, payload: Any, headers: dict[str, Any], message_id: str) -> None:
        """Put a dead letter back on this handler's queue with a fresh attempt count, signed
        afresh for its source (it was verified when it first arrived; its signature may
        have expired since)."""
        headers = {k: v for k, v in headers.items() if k != ATTEMPT_HEADER}
        headers[f"nameko.{principals.PRINCIPAL_KEY}"] = principals.event_token(
            self.source_service, message_id)
        self.publisher.publish(json.loads(json.dumps(payload)), exchange=DEFAULT_EXCHANGE,
                               routing_key=self.queue.name, headers=headers,
                               message_id=message_id)


reliable_handler = ReliableEventHandler.decorator


def forwarding_handler(source: str, event_type: str,
                       method: Callable[[Any, str, str, Any], None]) -> Callable[[Any, Any], None]:
    """The reliable handler of ``source``'s ``event_type`` that calls ``method(self, source,
    event_type, payload)``: events handled alike share one method, and each still has an
    entrypoint of its own (its queue and inbox name come from the attribute it is
    assigned to, as for a ``def``)."""
    def handler(self: Any, payload: Any) -> None:
        method(self, source, event_type, payload)
    handler.__name__ = f"on_{event_type}"
    decorated: Callable[[Any, Any], None] = ReliableEventHandler.decorator(
        source, event_type)(handler)
    return decorated
