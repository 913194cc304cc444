"""What a mailer use case works with: the library's ``BaseCtx`` (the worker's session and
vault, the outbox, the caller, ``lock``, the lazy settings), the other services, and what
the mailer adds: its own transactions (``autonomous``) and the handled event's id."""
from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from mailer.domain import retries
from suivi_common import database, events, outbox
from suivi_common.auth import Principal
from suivi_common.crypto import Vault
from suivi_common.errors import Forbidden, NotFound, Unauthorized
from suivi_common.settings import setting
from suivi_common.usecase import BaseCtx

DEFAULT_MAIL_FROM = "Suivi <no-reply@suivi.test>"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Settings:
    public_url: str
    mail_from: str
    retry_delays: list[float]
    lease_seconds: float
    #: emails to leads per dispatcher batch (one claim, two questions, one SMTP
    #: connection, one recording transaction)
    batch_size: int = 25
    #: batches in flight at once per process: one waits on its round trips (leads and
    #: accounts, SMTP, the database) while another renders
    dispatchers: int = 3

    @classmethod
    def load(cls) -> Settings:
        return cls(public_url=str(setting("PUBLIC_URL", DEFAULT_PUBLIC_URL)).rstrip("/"),
                   mail_from=str(setting("MAIL_FROM", DEFAULT_MAIL_FROM)),
                   retry_delays=retries.delays(setting("LEAD_MAIL_RETRY_SECONDS")),
                   lease_seconds=float(setting("LEAD_MAIL_LEASE_SECONDS", 300)),
                   batch_size=max(1, int(setting("LEAD_MAIL_BATCH", 25))),
                   dispatchers=max(1, int(setting("LEAD_MAIL_DISPATCHERS", 3))))


@dataclass
class Ctx(BaseCtx[Settings]):
    """``BaseCtx`` and the mailer's additions; built per call by ``from_db``."""

    db: Any  # the worker's ``suivi_common.database.Db``
    leads: Any = None
    accounts: Any = None
    compliance: Any = None
    #: the engine of the autonomous transactions (``adapters.side_pool``); None: the
    #: worker pool's (``Db.autonomous``)
    side_engine: Any = None

    @classmethod
    def from_db(cls, db: Any, principal: Principal | None, *, leads: Any = None,
                accounts: Any = None, compliance: Any = None, side_engine: Any = None) -> Ctx:
        """Build from the common ``Database`` dependency's worker handle."""
        return cls(session=db.session, vault=db.vault, emit=db.emit, principal=principal,
                   db=db, leads=leads, accounts=accounts, compliance=compliance,
                   side_engine=side_engine)

    def _load_settings(self) -> Settings:
        return Settings.load()

    def on(self, session: Session) -> Ctx:
        """This context on ``session`` (an autonomous one): green threads of one worker
        (the dispatcher's) never share the worker's session."""
        return dataclasses.replace(self, session=session, vault=self.vault_in(session),
                                   _settings=self.settings)

    @property
    def message_id(self) -> str | None:
        """The id of the event a reliable handler is handling (the inbox's key), else None."""
        return self.db.message_id  # type: ignore[no-any-return]

    def event_id(self) -> str:
        """The handled event's message id; a use case that keys its work on it must run in
        a reliable handler."""
        message_id = self.message_id
        if not message_id:
            raise RuntimeError("this use case must run in a reliable event handler")
        return str(message_id)

    @contextlib.contextmanager
    def autonomous(self) -> Iterator[Session]:
        """A transaction of its own, committed on exit whatever the worker does next; from
        the side pool (``adapters.side_pool``), so a worker never needs two connections
        of the worker pool at once."""
        if self.side_engine is None:
            with self.db.autonomous() as session:
                yield session
            return
        with database.autonomous(self.side_engine, self.db.wake_relay) as session:
            yield session

    def emit_in(self, session: Session, event_type: str, payload: Mapping[str, Any]) -> None:
        """An event written in ``session``'s transaction (an autonomous one), relayed once
        it commits."""
        self.db.emit(event_type, payload, session=session)

    def emit_many_in(self, session: Session, event_type: str,
                     payloads: Sequence[Mapping[str, Any]]) -> None:
        """Events of one type written in ``session``'s transaction as ``emit_in`` writes
        each (contract checked, the worker's context as headers, relayed once it commits),
        in one statement: a batch of emails reports its emails with one round trip, not
        one per email."""
        if not payloads:
            return
        carried = outbox.headers(self.db.context)
        rows = []
        for payload in payloads:
            events.validate(event_type, payload)
            rows.append({"id": uuid.uuid4(), "event_type": event_type,
                         "payload": dict(payload), "headers": carried})
        session.execute(insert(self.db.tables.outbox), rows)
        session.info[outbox.EMITTED] = session.info.get(outbox.EMITTED, 0) + len(rows)

    def vault_in(self, session: Session) -> Vault:
        return Vault(self.db.keyring, session)


def member(principal: Principal | None) -> Principal:
    """A user or an admin of a network (who has an office and leads)."""
    if principal is None:
        raise Unauthorized()
    if not principal.is_member or not principal.network_id:
        raise Forbidden("This action is for members of a network", code="network_required")
    return principal


def admin(principal: Principal | None) -> Principal:
    p = member(principal)
    if p.role != "admin":
        raise Forbidden("Only the network admin manages this", code="admin_only")
    return p


def parse_id(value: Any, what: str = "object") -> uuid.UUID:
    """A well-formed id, or NotFound: a malformed id names nothing."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        raise NotFound(f"No such {what}") from None
