"""The part of a use case's context every service shares: the worker's session,
encryption, the outbox, the caller, and the serialising lock. Each service's ``Ctx``
extends it with what its use cases need besides (settings, ports, an engine)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from suivi_common.auth import Principal
from suivi_common.crypto import Vault
from suivi_common.database import xact_lock

S = TypeVar("S")


@dataclass
class BaseCtx(Generic[S]):
    session: Session
    vault: Vault
    emit: Callable[[str, Mapping[str, Any]], Any]
    principal: Principal | None
    _settings: S | None = field(default=None, repr=False, kw_only=True)

    @property
    def settings(self) -> S:
        """The service's settings, read on first use: most calls never need them, and
        reading costs ~70 µs."""
        if self._settings is None:
            self._settings = self._load_settings()
        return self._settings

    def _load_settings(self) -> S:
        raise NotImplementedError

    def lock(self, key: str, shared: bool = False) -> None:
        """Serialise work on ``key`` until this transaction ends (check-then-act races)."""
        xact_lock(self.session, key, shared)
