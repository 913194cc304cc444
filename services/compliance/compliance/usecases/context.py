"""What a use case works with: the worker's session, encryption, the outbox, the caller,
and the other services it asks (behind ports, so tests can wire real fakes)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compliance import settings as settings_module
from compliance.settings import Settings
from suivi_common.auth import Principal, require
from suivi_common.usecase import BaseCtx

COMPLIANCE_ROLE = "compliance"
MEMBER_ROLES = ("user", "admin")


@dataclass
class Ctx(BaseCtx[Settings]):
    services: Any = None  # ``compliance.remote.Services`` (RPC to leads and others)

    def _load_settings(self) -> Settings:
        return settings_module.load()

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

