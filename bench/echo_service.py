"""The baselines: a bare Nameko ``@http`` → RPC echo, no auth, no database.

``EchoGateway`` calls through stock nameko's ``ServiceRpc`` (the baseline the issue
names); ``SuiviEchoGateway`` through ``suivi_common.rpc.ServiceRpc``, so the report can
tell what the platform's RPC client saves from what the rest of the path costs."""
import json
from typing import Any

from nameko.rpc import ServiceRpc, rpc
from nameko.web.handlers import http

from suivi_common.rpc import ServiceRpc as SuiviServiceRpc


class Echo:
    name = "bench_echo"

    @rpc
    def echo(self, value: str) -> str:
        return value


def echo_gateway(service_name: str, path: str, client: Any) -> type:
    """An ``@http`` GET on ``path`` that asks ``Echo`` through the RPC client ``client``:
    the two gateways differ in nothing else."""

    class Gateway:
        name = service_name
        echo = client("bench_echo")

        @http("GET", path)
        def get(self, request: object) -> str:
            return json.dumps({"echo": self.echo.echo("hello")})

    return Gateway


EchoGateway = echo_gateway("bench_echo_gateway", "/echo", ServiceRpc)
SuiviEchoGateway = echo_gateway("bench_suivi_echo_gateway", "/suivi-echo", SuiviServiceRpc)
