"""What a use case works with: a session, the outbox, the caller, config and the ports.

``separate()`` opens a transaction of its own, committed on exit. The day close uses it
to apply leads' totals plan by plan (short row locks, progress kept if a later plan
fails), and the steps that call leads before locking a plan use it for the same reason:
a plan row lock is never held across an RPC.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from plans.remote import AccountsPort, LeadsPort
from plans.settings import PlanConfig
from suivi_common import outbox
from suivi_common.auth import Principal
from suivi_common.crypto import KeyRing, Vault
from suivi_common.database import autonomous, xact_lock
from suivi_common.tables import CommonTables


@dataclass
class Ctx:
    session: Session
    emit: Callable[[str, Mapping[str, Any]], Any]
    principal: Principal | None
    config: PlanConfig
    accounts: AccountsPort
    leads: LeadsPort
    engine: Engine
    tables: CommonTables
    keyring: KeyRing
    wake: Callable[[], None] = lambda: None
    context_data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_db(cls, db: Any, principal: Principal | None, config: PlanConfig,
                accounts: AccountsPort, leads: LeadsPort) -> Ctx:
        """Build from the common ``Database`` dependency's worker handle."""
        return cls(session=db.session, emit=db.emit, principal=principal, config=config,
                   accounts=accounts, leads=leads, engine=db.engine, tables=db.tables,
                   keyring=db.keyring, wake=db.wake_relay, context_data=dict(db.context))

    @contextlib.contextmanager
    def separate(self) -> Iterator[Ctx]:
        """A transaction of its own (``suivi_common.database.autonomous``), committed on
        exit whatever the caller does next; its events are published once it commits."""
        with autonomous(self.engine, self.wake) as session:
            def emit(event_type: str, payload: Mapping[str, Any]) -> Any:
                return outbox.emit(session, self.tables, event_type, payload, self.context_data)

            yield replace(self, session=session, emit=emit)

    def lock(self, key: str, shared: bool = False) -> None:
        """Serialise work on ``key`` until this transaction ends (check-then-act races)."""
        xact_lock(self.session, key, shared)

    def encrypt(self, scope: str, table: str, column: str, row_id: Any, value: str | None) -> bytes | None:
        """Encrypt under ``scope``; its data key is first stored in a committed transaction,
        so a rolled-back worker never leaves the key ring caching a key that was never saved."""
        if value is None:
            return None
        with autonomous(self.engine) as session:
            self.keyring.data_key(session, scope)
        return Vault(self.keyring, self.session).encrypt(scope, table, column, row_id, value)

    def decrypt(self, scope: str, table: str, column: str, row_id: Any, blob: bytes | None) -> str | None:
        return Vault(self.keyring, self.session).decrypt(scope, table, column, row_id, blob)
