"""suivi_common.rpc.ServiceRpc: an unknown service leaves no pending reply behind (nameko
would later kill the container over it), and a silent service times out."""
from __future__ import annotations

from typing import Any

from kombu import Connection, Exchange, Queue
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.rpc import ReplyListener, rpc
from nameko.standalone.rpc import ClusterRpcClient

from suivi_common.rpc import REPLY_QUEUE_REDECLARE_SECONDS, ServiceRpc
from suivi_common.testing import infra


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

    @rpc
    def pending(self) -> int:
        return len(type(self).ghost.reply_listener.pending)


def test_unknown_service_and_silent_service(vhost: str) -> None:
    cfg: dict[str, Any] = {"AMQP_URI": infra.amqp_uri(vhost)}
    # "silent" has a queue bound (it existed once) but no consumer: requests wait forever
    with Connection(cfg["AMQP_URI"]) as conn:
        Queue("rpc-silent", Exchange("nameko-rpc", type="topic", durable=True),
              routing_key="silent.*", durable=True)(conn.channel()).declare()
    with infra.running(cfg, Caller) as (container,):
        with ClusterRpcClient(uri=cfg["AMQP_URI"], timeout=10) as client:
            assert client.caller.call_ghost() == "unknown"
            assert client.caller.call_silent() == "timeout"
        listener = next(ext for ext in container.extensions if isinstance(ext, ReplyListener))
        assert listener.pending == {}


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
    reply queue's lease only when it could be near expiry, and replies still arrive."""
    cfg: dict[str, Any] = {"AMQP_URI": infra.amqp_uri(vhost)}
    with infra.running(cfg, Target, Forwarder) as (_, forwarder):
        provider = next(d for d in forwarder.dependencies if isinstance(d, ServiceRpc))
        declared: list[int] = []
        publish = provider.publisher.publish

        def recording(payload: Any, **kwargs: Any) -> Any:
            declared.append(len(kwargs.get("declare") or ()))
            return publish(payload, **kwargs)

        provider.publisher.publish = recording
        with ClusterRpcClient(uri=cfg["AMQP_URI"], timeout=10) as client:
            assert [client.forwarder.forward(i) for i in range(3)] == [0, 1, 2]
            assert declared == [1, 0, 0]
            provider.reply_listener.suivi_declared_at -= REPLY_QUEUE_REDECLARE_SECONDS
            assert client.forwarder.forward(3) == 3
            assert declared == [1, 0, 0, 1]
