"""The baselines: a bare Nameko ``@http`` → RPC echo, no auth, no database.

``EchoGateway`` calls through stock nameko's ``ServiceRpc`` (the baseline the issue
names); ``SuiviEchoGateway`` through ``suivi_common.rpc.ServiceRpc``, so the report can
tell what the platform's RPC client saves from what the rest of the path costs."""
import json

from nameko.rpc import ServiceRpc, rpc
from nameko.web.handlers import http

from suivi_common.rpc import ServiceRpc as SuiviServiceRpc


class Echo:
    name = "bench_echo"

    @rpc
    def echo(self, value: str) -> str:
        return value


class EchoGateway:
    name = "bench_echo_gateway"
    echo = ServiceRpc("bench_echo")

    @http("GET", "/echo")
    def get(self, request: object) -> str:
        return json.dumps({"echo": self.echo.echo("hello")})


class SuiviEchoGateway:
    name = "bench_suivi_echo_gateway"
    echo = SuiviServiceRpc("bench_echo")

    @http("GET", "/suivi-echo")
    def get(self, request: object) -> str:
        return json.dumps({"echo": self.echo.echo("hello")})
