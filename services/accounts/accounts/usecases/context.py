"""What a use case works with: the common context (session, encryption, outbox, caller,
locks), accounts' settings and an engine."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from accounts import settings as settings_module
from accounts.adapters.card_provider import CardProvider
from accounts.settings import Settings
from suivi_common.auth import Principal
from suivi_common.crypto import Vault
from suivi_common.usecase import BaseCtx


@dataclass
class Ctx(BaseCtx[Settings]):
    engine: Engine

    def _load_settings(self) -> Settings:
        return settings_module.load()

    @classmethod
    def from_db(cls, db: Any, principal: Principal | None) -> Ctx:
        """Build from the common ``Database`` dependency's worker handle."""
        return cls(session=db.session, vault=db.vault, emit=db.emit, engine=db.engine,
                   principal=principal)

    def card_provider(self) -> CardProvider:
        return CardProvider(self.settings.card_provider_url, self.settings.card_provider_timeout)



@contextmanager
def separate(db: Any, principal: Principal | None) -> Iterator[Ctx]:
    """A context on a transaction of its own (``Db.autonomous``), committed on exit with
    the events emitted in it, whatever the worker does next: a long sweep commits batch
    by batch."""
    with db.autonomous() as tx:
        yield Ctx(session=tx, vault=Vault(db.keyring, tx),
                  emit=lambda kind, payload: db.emit(kind, payload, session=tx),
                  engine=db.engine, principal=principal)
