"""The capture sites' broker user, on a real RabbitMQ: it publishes captures, and that is
all it can do (no RPC, no queue read, no declaration). The user is created for this test,
with a unique name and the platform's permission patterns, and deleted afterwards."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pika
import pytest
from amqp.exceptions import AccessRefused
from pika.exceptions import ChannelClosedByBroker
from sqlalchemy import func, select

from leads import testing
from leads.capture_client import CaptureClient, capture_permissions
from leads.models import leads
from suivi_common.rpc import RpcClient
from suivi_common.testing import infra


@pytest.fixture
def capture_uri(stack: Any, vhost: str) -> Iterator[str]:
    name, password = f"suivi-capture-test-{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    infra.add_broker_user(name, password, vhost, *capture_permissions())
    try:
        yield f"amqp://{name}:{password}@127.0.0.1:5672/{quote(vhost, safe='')}"
    finally:
        infra.delete_broker_user(name)


def refused(uri: str, act: Any) -> bool:
    """True if the broker refuses ``act(channel)`` (403 ACCESS_REFUSED)."""
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    try:
        channel = connection.channel()
        channel.confirm_delivery()  # a publish waits for the broker's answer
        act(channel)
    except ChannelClosedByBroker as exc:
        return exc.reply_code == 403
    finally:
        if connection.is_open:
            connection.close()
    return False


def test_the_capture_user_publishes_captures(stack: Any, capture_uri: str) -> None:
    key = stack.new_site_key()
    with CaptureClient(capture_uri, key) as client:
        client.send([testing.raw_lead(1), testing.raw_lead(2)])
    testing.wait_for(lambda: stack.scalar(select(func.count()).select_from(leads)) == 2)


def test_the_capture_user_can_call_no_rpc_and_read_no_queue(stack: Any, capture_uri: str) -> None:
    request = pika.BasicProperties(reply_to="x", correlation_id="c", content_type="application/json")
    body = b'{"args": [], "kwargs": {}}'
    assert refused(capture_uri, lambda ch: ch.basic_publish("nameko-rpc", "leads.health", body,
                                                            request))
    assert refused(capture_uri, lambda ch: ch.basic_publish("", "rpc-leads", body, request))
    assert refused(capture_uri, lambda ch: ch.basic_publish("plans.events", "plan_activated", b"{}"))
    for queue in ("leads.capture", "rpc-leads"):
        assert refused(capture_uri, lambda ch, q=queue: ch.basic_get(q, auto_ack=True))
        assert refused(capture_uri, lambda ch, q=queue: ch.basic_consume(q, lambda *a: None))
    assert refused(capture_uri, lambda ch: ch.queue_declare("mine", exclusive=True))
    assert refused(capture_uri, lambda ch: ch.queue_purge("leads.capture"))
    with pytest.raises(AccessRefused):  # it cannot even declare a reply queue
        RpcClient(capture_uri).start()
    with RpcClient(stack.uri) as rpc:  # while the services' user still can
        assert rpc.leads.health()["status"] == "ok"
