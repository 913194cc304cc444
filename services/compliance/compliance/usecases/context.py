"""What a use case works with: the worker's session, encryption, the outbox, the caller,
and the other services it asks (behind ports, so tests can wire real fakes)."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from compliance import settings as settings_module
from compliance.settings import Settings
from suivi_common.auth import Principal, require
from suivi_common.crypto import Vault

COMPLIANCE_ROLE = "compliance"
MEMBER_ROLES = ("user", "admin")


@dataclass
class Ctx:
    session: Session
    vault: Vault
    emit: Callable[[str, Mapping[str, Any]], Any]
    principal: Principal | None
    services: Any = None  # ``compliance.remote.Services`` (RPC to leads and others)
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = settings_module.load()
        return self._settings

    def compliance_staff(self) -> Principal:
        """Compliance staff only: platform staff is another role and is refused too."""
        return require(self.principal, COMPLIANCE_ROLE)

    def member(self) -> Principal:
        return require(self.principal, *MEMBER_ROLES)

    def actor(self) -> dict[str, Any]:
        """Who acts, as the audit trail records it."""
        p = self.principal
        if p is None:
            return {"type": "anonymous"}
        if p.is_service:
            return {"type": "service", "id": p.user_id}
        return {"type": "user", "user_id": p.user_id, "role": p.role}


def parse_uuid(value: object) -> uuid.UUID | None:
    """A well-formed id, or None: a malformed id simply names nothing (404)."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
