"""suivi_common.rpc.ServiceRpc: an unknown service leaves no pending reply behind (nameko
would later kill the container over it), and a silent service times out."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection, Exchange, Queue
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcClient

from suivi_common.rpc import ServiceRpc
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


@pytest.fixture
def vhost() -> Iterator[str]:
    name = infra.fresh_vhost()
    yield name
    infra.delete_vhost(name)


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
        listener = next(ext for ext in container.extensions
                        if type(ext).__name__ == "ReplyListener")
        assert listener.pending == {}
