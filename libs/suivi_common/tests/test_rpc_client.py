"""suivi_common.rpc: the reply listener never kills its container, calls that may have lost
their reply fail at once, an unknown service leaves no pending reply behind, a silent one
times out, and the reply queue is declared once a lease, not before every request."""
from __future__ import annotations

import threading
from typing import Any

import eventlet
import pytest
from kombu import Connection, Exchange, Queue
from nameko.exceptions import ReplyQueueExpiredWithPendingReplies, RpcTimeout, UnknownService
from nameko.rpc import ServiceRpc as NamekoServiceRpc
from nameko.rpc import rpc

from suivi_common.errors import RepliesLost
from suivi_common.rpc import REPLY_QUEUE_REDECLARE_SECONDS, ReplyListener, RpcClient, ServiceRpc
from suivi_common.testing import infra
from suivi_common.testing.waiting import wait_for


def suivi_cfg(vhost: str) -> dict[str, Any]:
    return infra.base_config(vhost)


class Caller:
    name = "caller"
    ghost = ServiceRpc("ghost")
    silent = ServiceRpc("silent", timeout=0.5)

    @rpc
    def call_ghost(self) -> str:
        try:
            self.ghost.anything()
        except UnknownService:
            return "unknown"
        return "answered"

    @rpc
    def call_silent(self) -> str:
        try:
            self.silent.anything()
        except RpcTimeout:
            return "timeout"
        return "answered"


def listener_of(container: Any) -> ReplyListener:
    return next(ext for ext in container.extensions if isinstance(ext, ReplyListener))


def test_unknown_service_and_silent_service(vhost: str) -> None:
    cfg = suivi_cfg(vhost)
    # "silent" has a queue bound (it existed once) but no consumer: requests wait forever
    with Connection(cfg["AMQP_URI"]) as conn:
        Queue("rpc-silent", Exchange("nameko-rpc", type="topic", durable=True),
              routing_key="silent.*", durable=True)(conn.channel()).declare()
    with infra.running(cfg, Caller) as (container,):
        with RpcClient(cfg["AMQP_URI"], timeout=60) as client:
            assert client.caller.call_ghost() == "unknown"
            assert client.caller.call_silent() == "timeout"
        assert listener_of(container).pending == {}


class Target:
    name = "target"

    @rpc
    def echo(self, value: int) -> int:
        return value


class Forwarder:
    name = "forwarder"
    target = ServiceRpc("target")

    @rpc
    def forward(self, value: int) -> int:
        return self.target.echo(value)


def test_reply_queue_is_declared_once_a_lease_not_before_every_request(vhost: str) -> None:
    """nameko declares exchange, queue and binding before each request; ours renews the
    reply queue's lease only when it could be near expiry (its consumer declared it on
    connecting), and replies still arrive."""
    cfg = suivi_cfg(vhost)
    with infra.running(cfg, Target, Forwarder) as (_, forwarder):
        provider = next(d for d in forwarder.dependencies if isinstance(d, ServiceRpc))
        declared: list[int] = []
        publish = provider.publisher.publish

        def recording(payload: Any, **kwargs: Any) -> Any:
            declared.append(len(kwargs.get("declare") or ()))
            return publish(payload, **kwargs)

        provider.publisher.publish = recording
        with RpcClient(cfg["AMQP_URI"], timeout=60) as client:
            assert [client.forwarder.forward(i) for i in range(3)] == [0, 1, 2]
            assert declared == [0, 0, 0]
            assert provider.reply_listener.declared_at is not None
            provider.reply_listener.declared_at -= REPLY_QUEUE_REDECLARE_SECONDS
            assert client.forwarder.forward(3) == 3
            assert declared == [0, 0, 0, 1]
            assert client.forwarder.forward(4) == 4
            assert declared == [0, 0, 0, 1, 0]


# --- the lost-replies crash ----------------------------------------------------------------

class Gate:
    """Holds a call inside the service until the test opens it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def reset(self) -> None:
        self.entered.clear()
        self.release.clear()


GATE = Gate()
RESULTS: list[Any] = []


class Slow:
    name = "slow"

    @rpc
    def hold(self) -> str:
        GATE.entered.set()
        GATE.release.wait(60)
        return "done"


class SuiviAsker:
    name = "asker"
    slow = ServiceRpc("slow")

    @rpc
    def ask(self) -> str:
        try:
            answer = self.slow.hold()
        except RepliesLost:
            answer = "lost"
        RESULTS.append(answer)
        return answer


class NamekoAsker:
    name = "asker"
    slow = NamekoServiceRpc("slow")

    @rpc
    def ask(self) -> str:
        return self.slow.hold()  # type: ignore[no-any-return]


def delete_queue(uri: str, name: str) -> None:
    with Connection(uri) as conn:
        conn.channel().queue_delete(name)


def reply_queue_name(container: Any) -> str:
    for ext in container.extensions:
        queue = getattr(ext, "queue", None)
        if queue is not None and queue.name.startswith("rpc.reply-asker-"):
            return str(queue.name)
    raise AssertionError("no reply queue")


@pytest.fixture
def gate() -> Any:
    GATE.reset()
    RESULTS.clear()
    yield GATE
    GATE.release.set()


def test_stock_nameko_dies_when_its_reply_queue_vanishes_under_a_pending_call(
        vhost: str, gate: Gate) -> None:
    """The failure mode itself: a call is pending, the reply consumer reconnects and finds
    its queue gone: nameko raises in the consumer's thread, and the container dies."""
    cfg = {"AMQP_URI": infra.amqp_uri(vhost)}
    with infra.running(cfg, Slow, NamekoAsker) as (_, asker):
        client = RpcClient(cfg["AMQP_URI"], timeout=None).start()
        try:
            client.asker.ask.call_async()
            wait_for(gate.entered.is_set)
            delete_queue(cfg["AMQP_URI"], reply_queue_name(asker))  # the broker cancels its consumer
            with eventlet.Timeout(60), pytest.raises(ReplyQueueExpiredWithPendingReplies):
                asker.wait()
        finally:
            gate.release.set()
            client.stop()


def test_ours_survives_and_fails_only_the_call_whose_reply_was_lost(
        vhost: str, gate: Gate) -> None:
    cfg = suivi_cfg(vhost)
    with infra.running(cfg, Slow, SuiviAsker) as (_, asker):
        listener = listener_of(asker)
        with RpcClient(cfg["AMQP_URI"], timeout=60) as client:
            pending = client.asker.ask.call_async()
            wait_for(gate.entered.is_set)
            delete_queue(cfg["AMQP_URI"], reply_queue_name(asker))
            # failed at once, while the slow service still holds the request
            assert pending.result() == "lost"
            assert not gate.release.is_set()
            assert listener.lost == 1 and listener.pending == {}
            gate.release.set()
            # the container lives on, its queue declared again
            gate.reset()
            gate.release.set()
            assert client.asker.ask() == "done"
        assert not asker._died.ready()


def test_a_call_whose_request_declares_the_queue_is_not_failed(vhost: str, gate: Gate) -> None:
    """The start-up race: the consumer (re)connects while the queue does not exist and a
    call is registered whose request is still being published with the queue's declaration
    (at start-up: the first request, before the consumer's first connection). That reply
    cannot be lost: the call completes and nothing dies."""
    cfg = suivi_cfg(vhost)
    with infra.running(cfg, Slow, SuiviAsker) as (_, asker):
        listener = listener_of(asker)
        provider = next(d for d in asker.dependencies if isinstance(d, ServiceRpc))
        publish = provider.publisher.publish
        publishing, go_on = threading.Event(), threading.Event()

        def held(payload: Any, **kwargs: Any) -> Any:
            publishing.set()
            go_on.wait(60)
            return publish(payload, **kwargs)

        provider.publisher.publish = held
        listener.declared_at = None  # as before the first connection: requests declare it
        with RpcClient(cfg["AMQP_URI"], timeout=60) as client:
            pending = client.asker.ask.call_async()
            wait_for(publishing.is_set)
            delete_queue(cfg["AMQP_URI"], reply_queue_name(asker))
            wait_for(lambda: listener.declared_at is not None)  # reconnected, queue declared
            assert listener.lost == 0 and len(listener.pending) == 1
            go_on.set()
            gate.release.set()
            assert pending.result() == "done"
        assert not asker._died.ready()


def test_a_closed_connection_loses_no_reply(vhost: str, gate: Gate) -> None:
    """Every connection of the vhost closed while a call is pending: the reply queue
    survives, the consumer reconnects, and the reply that waited in it is delivered."""
    cfg = suivi_cfg(vhost)
    with infra.running(cfg, Slow, SuiviAsker) as (_, asker):
        listener = listener_of(asker)
        client = RpcClient(cfg["AMQP_URI"], timeout=60).start()
        try:
            client.asker.ask.call_async()
            wait_for(gate.entered.is_set)
            listener.declared_at = 0.0
            assert infra.close_connections(vhost) >= 3
            wait_for(lambda: (listener.declared_at or 0.0) > 0.0)  # the consumer is back
            gate.release.set()
            # (the asker's own request was redelivered when its connection closed: it may
            # ask a second time, which is why only the first answer is looked at)
            assert wait_for(lambda: RESULTS)[0] == "done"
            assert listener.lost == 0
        finally:
            client.stop()
        assert not asker._died.ready()


def test_the_standalone_client_fails_its_pending_calls_when_its_connection_drops(
        vhost: str, gate: Gate) -> None:
    cfg = suivi_cfg(vhost)
    with infra.running(cfg, Slow):
        with RpcClient(cfg["AMQP_URI"], timeout=60) as client:
            pending = client.slow.hold.call_async()
            wait_for(gate.entered.is_set)
            infra.close_connections(vhost)
            with pytest.raises(RepliesLost):
                pending.result()
            gate.release.set()
            gate.reset()
            gate.release.set()
            assert client.slow.hold() == "done"  # reconnected, with a fresh reply queue
