"""Nameko entrypoints that stock nameko lacks: the capture queue consumer, config timers.

The capture consumer reads a durable queue bound to the capture exchange that capture
sites publish to (see ``leads.capture_client``). Both are named ``CAPTURE_QUEUE``
(``leads.capture``): the exchange is the one thing the capture sites' broker user may
write to, so they can publish captures and nothing else.

Each message is handled exactly once although RabbitMQ delivers at least once: its
message id is claimed in the ``inbox`` table inside the worker's own transaction
(``Database.before_call``), which commits before the ack. A consumer killed
after the commit but before the ack gets the message again and skips it; killed before
the commit, nothing was stored and the message is requeued. Errors requeue too
(``requeue_on_error``): a lead is never dropped because the database blinked.

The inbox id is ``sha256(key hash : message id)`` so two sites cannot collide, and the
capture key is passed to the method as a sensitive argument, never into the worker context
(which nameko would forward to every RPC and event).
"""
from __future__ import annotations

import hashlib
import logging
from functools import partial
from typing import Any

from kombu import Exchange, Queue
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer

from leads.settings import TUNABLES
from leads.usecases.capture import hash_key
from suivi_common.consumer import message_id_of
from suivi_common.container import INBOX_CONTEXT_KEY

log = logging.getLogger(__name__)

CAPTURE_KEY_HEADER = "x-capture-key"
HANDLER_NAME = "leads.capture_from_queue"


def capture_exchange(name: str | None = None) -> Exchange:
    """Where capture sites publish (direct, durable; deploy/rabbitmq declares it too)."""
    return Exchange(name or TUNABLES.get("CAPTURE_QUEUE"), type="direct", durable=True)


def capture_queue(name: str | None = None) -> Queue:
    """The durable queue, bound to the capture exchange (routing key: its name)."""
    name = name or TUNABLES.get("CAPTURE_QUEUE")
    return Queue(name, exchange=capture_exchange(name), routing_key=name, durable=True)


def drop_undecodable(message: Any, exc: Exception) -> None:
    """A body that is not JSON (or of a refused content type) can never be processed, and
    kombu's default handler would write the raw body (personal data) to the log. Reject it
    (to the queue's dead-letter exchange, if ops configured one) and log only its id."""
    log.warning("capture message %s rejected: cannot decode (%s)",
                message.properties.get("message_id"), type(exc).__name__)
    message.reject(requeue=False)


class CaptureConsumer(Consumer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queue=None, requeue_on_error=True,
                         sensitive_arguments=("capture_key",),
                         on_decode_error=drop_undecodable, **kwargs)

    def setup(self) -> None:
        self.queue = capture_queue()
        super().setup()

    def handle_message(self, body: Any, message: Any) -> None:
        key = message.headers.get(CAPTURE_KEY_HEADER)
        key = key.decode() if isinstance(key, bytes) else key
        mid = message_id_of(message)
        inbox_id = hashlib.sha256(f"{hash_key(str(key))}:{mid}".encode()).hexdigest()
        context_data = {INBOX_CONTEXT_KEY: {"message_id": inbox_id, "handler": HANDLER_NAME}}
        handle_result = partial(self.handle_result, message)

        def spawn_worker() -> None:
            try:
                self.container.spawn_worker(self, (body, key, mid), {},
                                            context_data=context_data,
                                            handle_result=handle_result)
            except ContainerBeingKilled:
                self.consumer.requeue_message(message)

        self.container.spawn_managed_thread(spawn_worker)


capture_consumer = CaptureConsumer.decorator

#: A timer every ``key`` seconds (``suivi_common.settings.ConfigTimer``, leads' defaults).
config_timer = TUNABLES.timer
