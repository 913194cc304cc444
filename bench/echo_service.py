"""The baseline: a bare Nameko ``@http`` → RPC echo, no auth, no database."""
import json

from nameko.rpc import ServiceRpc, rpc
from nameko.web.handlers import http


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
