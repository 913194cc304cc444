"""A SQLAlchemy 2 session per worker, committed or rolled back *before* the worker's
result leaves the process (see ``container.SuiviContainer``), plus the outbox relay,
the inbox claim of reliable event handlers, and the key ring for encrypted columns.
"""
from __future__ import annotations

import base64
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from nameko import config
from nameko.extensions import DependencyProvider
from sqlalchemy import Select, Table, create_engine, event, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import CursorResult, Engine, Result, Row
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.elements import TextClause

from suivi_common import clock, devclock, outbox
from suivi_common.crypto import (
    PLATFORM_SCOPE,
    KeyRing,
    Vault,
    b64,
    load_master_key,
    load_previous_master_keys,
)
from suivi_common.errors import NotFound
from suivi_common.ids import parse_uuid
from suivi_common.redaction import redact, redact_text
from suivi_common.settings import setting
from suivi_common.tables import CommonTables

log = logging.getLogger(__name__)

#: The inbox claim of every reliable event (``tables.inbox``): plain SQL built once, because
#: the ``pg_insert(...).on_conflict_do_nothing()`` it replaces was compiled again on every
#: event. No row back: the message was claimed before, by this handler.
INBOX_CLAIM = text("INSERT INTO inbox (message_id, handler) VALUES (:message_id, :handler) "
                   "ON CONFLICT DO NOTHING RETURNING message_id")


def rows_affected(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched: SQLAlchemy types ``execute`` as a plain
    ``Result``; a DML statement's is a ``CursorResult``, which counts them."""
    return int(cast("CursorResult[Any]", result).rowcount)


def ensure_green_psycopg() -> None:
    """Refuse to start if psycopg would block the eventlet hub on every query."""
    from psycopg import waiting

    wait_c = getattr(waiting, "wait_c", None)
    if wait_c is not None and waiting.wait is wait_c:
        raise RuntimeError(
            "psycopg uses its blocking C wait function; set PSYCOPG_WAIT_FUNC=wait_select "
            "before psycopg is imported (import suivi_common first)")


def make_engine(url: str, pool_size: int = 10, ping_idle_seconds: float = 10.0) -> Engine:
    engine = create_engine(url, pool_size=pool_size, max_overflow=10, pool_recycle=1800)
    ping_when_idle(engine, ping_idle_seconds)
    return engine


def pool_size_for(max_workers: int) -> int:
    """One pooled connection per worker, plus the outbox relay and one autonomous
    transaction. A smaller pool makes every worker past it open and close a connection
    of its own (overflow), which costs PostgreSQL a backend fork per request under load."""
    return max_workers + 2


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection on checkout only if it sat idle ``idle_seconds`` or more.

    ``pool_pre_ping`` costs a round trip on every checkout, that is on every request. A
    connection returned moments ago is only checked for a close by the server (a
    terminated backend, a restart), which costs no round trip (``closed_by_server``): such
    a connection is replaced before any statement of the worker fails on it. A connection
    whose server vanished without a word (a network cut) is found by the ping once idle,
    or fails its first statement as a disconnect, which recycles the pool. 0 pings on
    every checkout."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None:
            return  # just connected
        if time.monotonic() - since < idle_seconds:
            if closed_by_server(dbapi_connection):
                raise DisconnectionError("pooled connection was closed by the server")
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("pooled connection is dead") from exc  # pool retries


_IDLE_SINCE = "suivi.idle_since"


def closed_by_server(dbapi_connection: Any) -> bool:
    """Whether the server closed this idle connection, without a round trip.

    An idle connection has nothing to read: the server sends something unasked only when
    it ends the session (``pg_terminate_backend``, a shutdown: an error, then EOF). So a
    readable socket means a dead connection (a false alarm costs a reconnect)."""
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:
        return False
    try:
        sock = pgconn.socket
    except Exception:  # psycopg refuses once the connection is closed
        return True
    readable, _, _ = _select([sock], [], [], 0)
    return bool(readable)


def _original_select() -> Any:
    """The blocking ``select``: with a zero timeout it never blocks, and it does not go
    through the eventlet hub."""
    try:
        from eventlet.patcher import original
    except ImportError:  # pragma: no cover
        import select
        return select.select
    return original("select").select


_select = _original_select()


@contextlib.contextmanager
def autonomous(engine: Engine, wake: Callable[[], None] | None = None) -> Iterator[Session]:
    """A transaction of its own on ``engine``, committed on exit (rolled back if the block
    raises); ``wake`` runs after the commit if events were written in it (``outbox.emit``)."""
    with Session(engine, expire_on_commit=False) as session:
        with session.begin():
            yield session
        if wake is not None and session.info.get(outbox.EMITTED):
            wake()




def xact_lock(session: Session, key: str, shared: bool = False) -> None:
    """Serialise work on ``key`` until ``session``'s transaction ends (check-then-act races);
    ``shared`` holders only exclude the exclusive ones."""
    fn = func.pg_advisory_xact_lock_shared if shared else func.pg_advisory_xact_lock
    session.execute(select(fn(func.hashtextextended(key, 0))))


def one_row(session: Session, query: Select[Any], what: str, lock: bool = False) -> Row[Any]:
    """The row ``query`` selects (``FOR UPDATE`` with ``lock``); ``NotFound`` ("No such
    <what>") when there is none."""
    row = session.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"No such {what}")
    return row


def row_by_id(session: Session, table: Table, raw_id: object, what: str,
              lock: bool = False) -> Row[Any]:
    """The row of ``table`` whose ``id`` is ``raw_id`` as a client sent it (``FOR UPDATE``
    with ``lock``): an unknown or malformed id is ``NotFound``, never a 500."""
    row_id = parse_uuid(raw_id)
    if row_id is None:
        raise NotFound(f"No such {what}")
    return one_row(session, select(table).where(table.c.id == row_id), what, lock)


class ReadOnlySession(Session):
    """The session of a read-only entrypoint (``service_base.rpc_query``): its connection is
    in autocommit, so a worker that reads costs no BEGIN and COMMIT round trips; a write
    is refused, since it would not be atomic."""


@event.listens_for(ReadOnlySession, "do_orm_execute")
def _refuse_writes(state: ORMExecuteState) -> None:
    statement = state.statement
    textual_write = (isinstance(statement, TextClause)
                     and not statement.text.lstrip().lower().startswith(("select", "with", "show")))
    if state.is_insert or state.is_update or state.is_delete or textual_write:
        raise RuntimeError("a read-only entrypoint may not write; use @rpc_api")


def is_read_only(worker_ctx: Any) -> bool:
    method = getattr(worker_ctx.service, worker_ctx.entrypoint.method_name, None)
    return bool(getattr(method, READ_ONLY_MARK, False))


READ_ONLY_MARK = "suivi_read_only"


class Db:
    """What a worker sees as ``self.db``."""

    def __init__(self, provider: Database, worker_ctx: Any, read_only: bool = False) -> None:
        self._provider = provider
        self._worker_ctx = worker_ctx
        self._read_only = read_only
        self._session: Session | None = None
        self.emitted = 0

    @property
    def session(self) -> Session:
        if self._session is None:
            if self._read_only:
                self._session = ReadOnlySession(self._provider.reader, expire_on_commit=False)
            else:
                self._session = Session(self._provider.engine, expire_on_commit=False)
        return self._session

    @property
    def message_id(self) -> str | None:
        """The id of the event being handled (reliable handlers only)."""
        meta = getattr(self._worker_ctx, "inbox", None)
        return meta["message_id"] if meta else None

    @property
    def vault(self) -> Vault:
        return Vault(self._provider.keyring, self.session)

    @property
    def engine(self) -> Engine:
        return self._provider.engine

    @property
    def keyring(self) -> KeyRing:
        return self._provider.keyring

    @property
    def tables(self) -> CommonTables:
        return self._provider.tables

    @property
    def context(self) -> Mapping[str, Any]:
        """The worker's context data (correlation id...), which events carry on."""
        return self._worker_ctx.data  # type: ignore[no-any-return]

    def wake_relay(self) -> None:
        """Publish committed outbox rows now rather than at the relay's next poll."""
        self._provider.relay.wake()

    def autonomous(self) -> contextlib.AbstractContextManager[Session]:
        """A transaction of its own, committed on exit whatever the worker does next
        (e.g. counting a failed login that the refusal itself rolls back); events
        emitted in it (``emit(..., session=tx)``) are published once it commits."""
        return autonomous(self._provider.engine, self.wake_relay)

    def emit(self, event_type: str, payload: Mapping[str, Any],
             session: Session | None = None) -> uuid.UUID:
        """Write an event to the outbox in this worker's transaction (or ``session``'s)."""
        if session is None:
            self.emitted += 1
        return outbox.emit(session or self.session, self._provider.tables, event_type, payload,
                           self._worker_ctx.data)

    # called by the container
    def _finish(self, failed: bool) -> None:
        if self._session is None:
            return
        try:
            if failed:
                self._session.rollback()
            else:
                self._session.commit()
        finally:
            self._session.close()
            self._session = None


class Database(DependencyProvider):
    secrets_used = ("SUIVI_MASTER_KEY",)  # its vault (checked at start-up in production)

    def __init__(self, tables: CommonTables, url_key: str = "DATABASE_URL") -> None:
        self.tables = tables
        self.url_key = url_key
        self._handles: dict[int, Db] = {}

    def setup(self) -> None:
        ensure_green_psycopg()
        devclock.load_persisted()
        pool_size = setting("DB_POOL_SIZE") or pool_size_for(int(config.get("max_workers", 10)))
        self.engine = make_engine(config[self.url_key], int(pool_size),
                                  float(setting("DB_PING_IDLE_SECONDS", 10)))
        self.reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.keyring = KeyRing(load_master_key(), self.tables, self.engine,
                               previous=load_previous_master_keys())
        self.relay = outbox.OutboxRelay(self.engine, self.tables, self.container.service_name,
                                        config["AMQP_URI"])

    def start(self) -> None:
        self.container.spawn_managed_thread(self.relay.run_forever, identifier="outbox-relay")

    def stop(self) -> None:
        self.relay.stop()
        self.engine.dispose()  # close pooled connections now, not whenever GC gets to them

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> Db:
        handle = Db(self, worker_ctx, read_only=is_read_only(worker_ctx))
        self._handles[id(worker_ctx)] = handle
        return handle

    # --- hooks called by SuiviContainer -------------------------------------------------
    def before_call(self, worker_ctx: Any) -> bool:
        """Inbox: claim the message in the worker's own transaction; False = seen before."""
        meta = getattr(worker_ctx, "inbox", None)
        if meta is None:
            return True
        handle = self._handles[id(worker_ctx)]
        claimed = handle.session.execute(
            INBOX_CLAIM, {"message_id": meta["message_id"], "handler": meta["handler"]}).first()
        if claimed is None:
            log.info("duplicate message %s for %s skipped", meta["message_id"], meta["handler"])
        return claimed is not None

    def before_result(self, worker_ctx: Any, failed: bool) -> None:
        handle = self._handles.get(id(worker_ctx))
        if handle is None:
            return
        emitted = handle.emitted
        handle._finish(failed)
        if emitted and not failed:
            self.relay.wake()

    def worker_teardown(self, worker_ctx: Any) -> None:
        handle = self._handles.pop(id(worker_ctx), None)
        if handle is not None and handle._session is not None:
            handle._finish(failed=True)

    # --- dead letters --------------------------------------------------------------------
    # Event bodies carry personal data (emails, names, set-password links) and a dead letter
    # can stay for weeks: its payload and error are sealed under the platform key, bound to
    # the row, and opened only for staff listing or replaying it.
    _SEALED = "sealed:"

    def _vault(self, session: Session) -> Vault:
        return Vault(self.keyring, session)

    def store_dead_letter(self, queue: str, handler: str, message_id: str, payload: Any,
                          headers: Mapping[str, Any], error: str, attempts: int) -> None:
        safe_headers = json.loads(json.dumps(dict(headers), default=str))
        letter_id = uuid.uuid4()
        with autonomous(self.engine) as session:
            vault = self._vault(session)
            sealed = vault.encrypt(PLATFORM_SCOPE, "dead_letters", "payload", letter_id,
                                   json.dumps(payload, default=str))
            sealed_error = vault.encrypt(PLATFORM_SCOPE, "dead_letters", "error", letter_id,
                                         error[-4000:])
            assert sealed is not None and sealed_error is not None
            session.execute(pg_insert(self.tables.dead_letters).values(
                id=letter_id, queue=queue, handler=handler, message_id=message_id,
                payload={self._SEALED: b64(sealed)}, headers=safe_headers,
                error=self._SEALED + b64(sealed_error), attempts=attempts, failed_at=clock.now()))

    def open_dead_letter(self, session: Session, row: Any) -> tuple[Any, str]:
        """The payload and error of a dead letter (rows from before sealing are clear)."""
        vault = self._vault(session)
        payload, error = row.payload, row.error
        if isinstance(payload, dict) and set(payload) == {self._SEALED}:
            clear = vault.decrypt(PLATFORM_SCOPE, "dead_letters", "payload", row.id,
                                  base64.b64decode(payload[self._SEALED]))
            payload = json.loads(clear) if clear is not None else None
        if error.startswith(self._SEALED):
            error = vault.decrypt(PLATFORM_SCOPE, "dead_letters", "error", row.id,
                                  base64.b64decode(error[len(self._SEALED):])) or ""
        return payload, error

    def list_dead_letters(self, include_replayed: bool = False) -> list[dict[str, Any]]:
        """Dead letters for staff to look at: payload and error with email addresses and
        links redacted (``suivi_common.redaction``); a replay opens the sealed payload whole."""
        t = self.tables.dead_letters
        query = select(t).order_by(t.c.failed_at)
        if not include_replayed:
            query = query.where(t.c.replayed_at.is_(None))
        letters = []
        with Session(self.engine) as session:
            for r in session.execute(query):
                payload, error = self.open_dead_letter(session, r)
                letters.append({
                    "id": str(r.id), "queue": r.queue, "handler": r.handler,
                    "message_id": r.message_id, "payload": redact(payload),
                    "error": redact_text(error),
                    "attempts": r.attempts, "failed_at": r.failed_at.isoformat(),
                    "replayed_at": r.replayed_at.isoformat() if r.replayed_at else None})
        return letters

    def take_dead_letter(self, session: Session, letter_id: str) -> Any:
        """The letter waiting for replay, marked replayed; None if there is none (an id that
        is not a UUID names none)."""
        t = self.tables.dead_letters
        key = parse_uuid(letter_id)
        if key is None:
            return None
        row = session.execute(
            select(t).where(t.c.id == key, t.c.replayed_at.is_(None))
            .with_for_update()).first()
        if row is not None:
            session.execute(update(t).where(t.c.id == row.id).values(replayed_at=clock.now()))
        return row
