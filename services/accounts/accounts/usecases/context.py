"""What a use case works with: the worker's session, encryption, the outbox, the caller."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from accounts import settings as settings_module
from accounts.adapters.card_provider import CardProvider
from accounts.settings import Settings
from suivi_common.auth import Principal
from suivi_common.crypto import Vault
from suivi_common.database import xact_lock


@dataclass
class Ctx:
    session: Session
    vault: Vault
    emit: Callable[[str, Mapping[str, Any]], Any]
    engine: Engine
    principal: Principal | None
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """Read on first use: most calls never need them, and reading costs ~70 µs."""
        if self._settings is None:
            self._settings = settings_module.load()
        return self._settings

    @classmethod
    def from_db(cls, db: Any, principal: Principal | None) -> Ctx:
        """Build from the common ``Database`` dependency's worker handle."""
        return cls(session=db.session, vault=db.vault, emit=db.emit, engine=db.engine,
                   principal=principal)

    def lock(self, key: str) -> None:
        """Serialise work on ``key`` until this transaction ends (check-then-insert races)."""
        xact_lock(self.session, key)

    def card_provider(self) -> CardProvider:
        return CardProvider(self.settings.card_provider_url, self.settings.card_provider_timeout)

