"""Who is asking: the principal the gateway authenticated, carried in RPC context.

The gateway puts ``user_id``, ``role`` and ``network_id`` into nameko's context
data; nameko forwards it with every RPC call and event, so a service checks
ownership itself, against its own data, without trusting ids from the payload.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nameko.extensions import DependencyProvider

from suivi_common.errors import Forbidden, NotFound, Unauthorized

ROLES = ("user", "admin", "staff", "compliance")
CONTEXT_KEYS = ("user_id", "role", "network_id")


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str
    network_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"

    @property
    def is_member(self) -> bool:
        """Users and admins: people who work inside a network."""
        return self.role in ("user", "admin")

    def to_context(self) -> dict[str, str]:
        data = {"user_id": self.user_id, "role": self.role}
        if self.network_id:
            data["network_id"] = self.network_id
        return data


SYSTEM = Principal(user_id="system", role="system")


def principal_from_context(data: Mapping[str, Any]) -> Principal | None:
    user_id, role = data.get("user_id"), data.get("role")
    if not user_id or role not in ROLES + ("system",):
        return None
    return Principal(str(user_id), str(role), data.get("network_id") or None)


def require(principal: Principal | None, *roles: str) -> Principal:
    """Refuse anonymous callers and, when roles are given, any other role."""
    if principal is None:
        raise Unauthorized()
    if roles and principal.role not in roles:
        raise Forbidden("This action is not allowed for your role")
    return principal


def require_owner(principal: Principal, owner_id: str | None) -> None:
    """Another user's object looks exactly like a missing one (terms art. 10.A)."""
    if owner_id is None or str(owner_id) != principal.user_id:
        raise NotFound()


class CurrentPrincipal(DependencyProvider):
    """Injects the caller's Principal (or None) into each worker."""

    def get_dependency(self, worker_ctx: Any) -> Principal | None:
        return principal_from_context(worker_ctx.data)
