"""The identity a principal names: roles and the ``Principal`` value.

Its own module, importing nothing of the library, so that ``principals`` (which signs and
verifies) and ``auth`` (which checks) both build on it without importing each other.
"""
from __future__ import annotations

from dataclasses import dataclass

SERVICE_ROLE = "service"
USER_ROLES = ("user", "admin", "staff", "compliance")
ROLES = (*USER_ROLES, SERVICE_ROLE)


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str
    network_id: str | None = None
    #: What the member's access level grants (``suivi_common.permissions``), as the gateway
    #: read it from accounts for this request; None: no level applies (see ``permissions``).
    permissions: tuple[str, ...] | None = None

    @property
    def is_member(self) -> bool:
        """Users and admins: people who work inside a network."""
        return self.role in ("user", "admin")

    @property
    def is_service(self) -> bool:
        return self.role == SERVICE_ROLE

    def to_context(self) -> dict[str, str]:
        """The fields as a plain mapping (tests and tools describe principals this way)."""
        data = {"user_id": self.user_id, "role": self.role}
        if self.network_id:
            data["network_id"] = self.network_id
        return data
