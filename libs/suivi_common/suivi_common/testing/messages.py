"""Sending what the platform's own processes send, for tests: signed events and calls."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange

from suivi_common import principals


def publish_event(amqp_uri: str, source: str, event_type: str, payload: Mapping[str, Any],
                  message_id: str | None = None, headers: Mapping[str, Any] | None = None,
                  signed: bool = True) -> str:
    """Publish an event of ``source`` the way its outbox relay does (signed for its message
    id, unless ``signed`` is False); returns the message id."""
    message_id = message_id or str(uuid.uuid4())
    extra = {"nameko.correlation_id": f"test-{message_id}", **(headers or {})}
    if signed:
        extra[f"nameko.{principals.PRINCIPAL_KEY}"] = principals.event_token(source, message_id)
    exchange = get_event_exchange(source)
    Publisher(amqp_uri, use_confirms=True, declare=[exchange]).publish(
        dict(payload), exchange=exchange, routing_key=event_type, message_id=message_id,
        extra_headers=extra)
    return message_id
