"""What compliance asks of other services, behind a small port: the use cases see
``Services``; the service wires nameko RPC clients (signed as compliance), the tests wire
real fake services on the broker."""
from __future__ import annotations

import logging
from typing import Any

import eventlet
from nameko.exceptions import MethodNotFound, RpcTimeout, UnknownService

from suivi_common.errors import ServiceUnavailable

log = logging.getLogger(__name__)


class Unavailable(Exception):
    """The other service did not answer: down, too slow, or without the method yet."""


class Services:
    def __init__(self, clients: dict[str, Any], timeout: float) -> None:
        self._clients = clients
        self._timeout = timeout

    def _call(self, service: str, method: str, *args: Any) -> Any:
        try:
            with eventlet.Timeout(self._timeout):
                return getattr(self._clients[service], method)(*args)
        except (eventlet.Timeout, RpcTimeout, UnknownService, MethodNotFound,
                ServiceUnavailable) as exc:
            log.warning("%s.%s did not answer: %r", service, method, exc)
            raise Unavailable(f"{service}.{method}: {type(exc).__name__}") from None

    def breach_scope(self, scope: dict[str, Any]) -> Any:
        """``leads.breach_scope``: the controllers a breach reaches, with counts."""
        return self._call("leads", "breach_scope", scope)

    def data_map(self, service: str) -> Any:
        """``<service>.data_map``: the service's declared data map (register)."""
        return self._call(service, "data_map")

    def register_controllers(self) -> Any:
        """``accounts.register_controllers``: the controllers the platform acts for."""
        return self._call("accounts", "register_controllers")
