"""Who is asking: the signed principal a call or an event carries (see ``principals``).

``SuiviContainer`` verifies it once, before the entrypoint runs, and strips every identity
key from the worker's context, so nothing unsigned is ever forwarded. A worker sees:

* ``self.principal`` (``CurrentPrincipal``): a user the gateway authenticated (``user``,
  ``admin``, ``staff``, ``compliance``), a service (role ``service``, ``user_id`` = its
  name: another service's call or event, or this service's own timer), or None: anonymous.
  "No principal" is never "internal";
* RPCs meant only for services are declared with ``@rpc_internal`` (``service_base``):
  the container refuses any other caller before the method runs.

Services check ownership themselves, against their own data, never trusting ids from the
payload of a user's call.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from nameko.extensions import DependencyProvider

from suivi_common import principals
from suivi_common.errors import Forbidden, NotFound, Unauthorized

USER_ROLES = ("user", "admin", "staff", "compliance")
ROLES = (*USER_ROLES, principals.SERVICE_ROLE)
#: The worker context attribute where ``SuiviContainer`` leaves the verified principal.
WORKER_PRINCIPAL = "suivi_principal"
WORKER_TOKEN = "suivi_principal_token"
Owned = TypeVar("Owned")


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str
    network_id: str | None = None

    @property
    def is_member(self) -> bool:
        """Users and admins: people who work inside a network."""
        return self.role in ("user", "admin")

    @property
    def is_service(self) -> bool:
        return self.role == principals.SERVICE_ROLE

    def to_context(self) -> dict[str, str]:
        """The fields as a plain mapping (tests and tools describe principals this way)."""
        data = {"user_id": self.user_id, "role": self.role}
        if self.network_id:
            data["network_id"] = self.network_id
        return data


def as_principal(value: Principal | Mapping[str, Any] | None) -> Principal | None:
    """A Principal from a Principal or a ``{user_id, role, network_id}`` mapping."""
    if value is None or isinstance(value, Principal):
        return value
    if not value.get("user_id") or value.get("role") not in ROLES:
        return None
    return Principal(str(value["user_id"]), str(value["role"]), value.get("network_id") or None)


def principal_from_context(data: Mapping[str, Any],
                           audience: str = principals.AUD_RPC) -> Principal | None:
    """The verified principal of a message's context, or None (anonymous)."""
    return principals.verify(data.get(principals.PRINCIPAL_KEY), audience)


def require(principal: Principal | None, *roles: str) -> Principal:
    """Refuse anonymous callers and, when roles are given, any other role."""
    if principal is None:
        raise Unauthorized()
    if roles and principal.role not in roles:
        raise Forbidden("This action is not allowed for your role")
    return principal


def require_service(principal: Principal | None, services: tuple[str, ...] = ()) -> Principal:
    """Another service (or this one's timer), and one of ``services`` if given."""
    if principal is None:
        raise Unauthorized("A service principal is required", code="service_principal_required")
    if not principal.is_service or (services and principal.user_id not in services):
        raise Forbidden("This call is for services only", code="internal_only")
    return principal


def require_owner(principal: Principal | None, row: Owned | None, message: str = "Not found",
                  sees_all: tuple[str, ...] = ()) -> Owned:
    """``row`` (anything with a ``user_id``) if ``principal`` owns it or has a role in
    ``sees_all``: another user's object looks exactly like a missing one (terms art. 10.A)."""
    owner = getattr(row, "user_id", None)
    if owner is None or principal is None or (
            principal.role not in sees_all and str(owner) != principal.user_id):
        raise NotFound(message)
    assert row is not None
    return row


class CurrentPrincipal(DependencyProvider):
    """Injects the caller's verified Principal (or None) into each worker."""

    def get_dependency(self, worker_ctx: Any) -> Principal | None:
        try:
            return getattr(worker_ctx, WORKER_PRINCIPAL)  # type: ignore[no-any-return]
        except AttributeError:  # a container other than SuiviContainer: verify here
            return principal_from_context(worker_ctx.data)
