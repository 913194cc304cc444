"""``nameko run bench.leads_gateway:LeadsGateway``: the real leads routes behind a stub
authenticator (token ``role:user_id:network_id``), for the HTTP benchmarks, which run
without accounts."""
from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from gateway.auth import bearer_token
from gateway.routes.leads import LeadsRoutes
from suivi_common import principals
from suivi_common.auth import Principal
from suivi_common.errors import Forbidden, Unauthorized
from suivi_common.rpc import ServiceRpc


class StubRequestAuth:
    def __init__(self, worker_ctx: Any) -> None:
        self.worker_ctx = worker_ctx

    def require(self, request: Any, roles: tuple[str, ...] = (),
                terms_gate: bool = True) -> tuple[Principal, str]:
        token = bearer_token(request)
        if token is None or token.count(":") != 2:
            raise Unauthorized("A bearer token is required", code="token_missing")
        role, user_id, network_id = token.split(":")
        principal = Principal(user_id, role, network_id or None)
        self.worker_ctx.data[principals.PRINCIPAL_KEY] = principals.user_token(principal)
        if roles and principal.role not in roles:
            raise Forbidden("This action is not allowed for your role", code="forbidden_role")
        return principal, token


class StubAuth(DependencyProvider):
    def get_dependency(self, worker_ctx: Any) -> StubRequestAuth:
        return StubRequestAuth(worker_ctx)


class LeadsGateway(LeadsRoutes):
    name = "gateway"
    auth = StubAuth()
    leads = ServiceRpc("leads", acting_for_request=True)
