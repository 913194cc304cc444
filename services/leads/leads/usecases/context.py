"""What a leads use case works with: the library's ``BaseCtx`` (the worker's transaction,
encryption, the outbox, the caller) and the service's one office-open check.

Built per call from the worker's ``Database`` handle (``Ctx.from_db``), so a use case runs
the same under nameko and in tests. ``separate()`` is a transaction of its own (one
auto-delivery group, one re-key batch), committed on exit. Event rows written straight into
the outbox in SQL (set-based, headers from ``outbox.headers(ctx.trace)``) rather than
through ``emit`` wake the relay with ``Db.wake_relay``: ``wake_on_commit(n)`` when the
worker's transaction commits, ``wake(n)`` at once for ``separate()`` ones already committed.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from suivi_common.auth import Principal
from suivi_common.crypto import Vault
from suivi_common.usecase import BaseCtx

Emit = Callable[[str, Mapping[str, Any]], Any]


@dataclass
class Ctx(BaseCtx[None]):
    """``BaseCtx`` (session, vault, emit, principal, ``lock``) and what leads adds."""

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

    def wake_on_commit(self, events: int) -> None:
        """``events`` outbox rows were written in the worker's transaction: publish them as
        soon as it commits (a rollback takes them back: nothing to wake for)."""
        if events:
            event.listen(self.session, "after_commit", lambda _session: self.db.wake_relay(),
                         once=True)

    def wake(self, events: int) -> None:
        """``events`` outbox rows were committed in ``separate()`` transactions: publish now."""
        if events:
            self.db.wake_relay()

    def correlation(self) -> dict[str, Any]:
        """A run serves many owners: its events carry the correlation id, not whoever
        happened to trigger it."""
        return {k: v for k, v in self.trace.items() if k == "correlation_id"}
