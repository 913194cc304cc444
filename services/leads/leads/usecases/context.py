"""What a leads use case works with: the worker's transaction, encryption, the outbox, the
caller, and the service's one office-open check.

Built per call from the worker's ``Database`` handle (``Ctx.from_db``), so a use case runs
the same under nameko and in tests. ``separate()`` is a transaction of its own (one
auto-delivery group, one re-key batch), committed on exit; ``wake(n)`` tells the outbox
relay that ``n`` event rows were written in SQL (set-based), not through ``emit``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from suivi_common.auth import Principal
from suivi_common.crypto import Vault

Emit = Callable[[str, Mapping[str, Any]], Any]


@dataclass
class Ctx:
    session: Session
    vault: Vault
    emit: Emit
    principal: Principal | None
    #: the worker's context data: set-based event rows carry its correlation id
    trace: Mapping[str, Any]
    #: the office's one check (terms art. 10), ``usecases.office.access.require_office_open``
    require_office_open: Callable[[str], None]
    db: Any  # the worker's ``suivi_common.database.Db``

    @classmethod
    def from_db(cls, db: Any, principal: Principal | None, trace: Mapping[str, Any],
                require_office_open: Callable[[str], None]) -> Ctx:
        return cls(session=db.session, vault=db.vault, emit=db.emit, principal=principal,
                   trace=trace, require_office_open=require_office_open, db=db)

    def separate(self) -> AbstractContextManager[Session]:
        """A transaction of its own, committed on exit whatever the worker does next."""
        return self.db.autonomous()

    def vault_of(self, session: Session) -> Vault:
        """Encryption inside a ``separate()`` transaction."""
        return Vault(self.db.keyring, session)

    def wake(self, events: int) -> None:
        self.db.emitted += events

    def correlation(self) -> dict[str, Any]:
        """A run serves many owners: its events carry the correlation id, not whoever
        happened to trigger it."""
        return {k: v for k, v in self.trace.items() if k == "correlation_id"}
