"""The worker session's two fast paths: read-only entrypoints without a transaction, and
pooled connections checked only when they sat idle. Real PostgreSQL and RabbitMQ."""
from __future__ import annotations

import select as select_module
from typing import Any

import pytest
from nameko.exceptions import RemoteError
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    insert,
    select,
    text,
)

from suivi_common.database import Database, make_engine
from suivi_common.errors import DatabaseUnavailable
from suivi_common.rpc import RpcClient
from suivi_common.service_base import PlatformService, rpc_api, rpc_query
from suivi_common.tables import define_common_tables
from suivi_common.testing import infra
from suivi_common.testing.waiting import wait_for

metadata = MetaData()
common = define_common_tables(metadata)
notes = Table("session_notes", metadata, Column("id", Integer, primary_key=True),
              Column("text", String(100), nullable=False))
URL = infra.test_db_url("common_session")


@pytest.fixture(scope="module")
def db_url() -> str:
    return infra.schema_database(URL, metadata)


@pytest.fixture
def url(db_url: str) -> str:
    infra.truncate_all(db_url, metadata)
    return db_url


def _transaction_state(db: Any) -> dict[str, Any]:
    count = db.session.execute(select(func.count()).select_from(notes)).scalar_one()
    dbapi = db.session.connection().connection.dbapi_connection
    return {"count": count, "transaction": dbapi.info.transaction_status.name}


class Notebook(PlatformService):
    name = "notebook"
    db = Database(common, url_key="NOTEBOOK_DATABASE_URL")

    @rpc_query
    def count(self) -> dict[str, Any]:
        return _transaction_state(self.db)

    @rpc_api
    def count_in_transaction(self) -> dict[str, Any]:
        return _transaction_state(self.db)

    @rpc_api
    def write(self, note: str) -> None:
        self.db.session.execute(insert(notes).values(text=note))

    @rpc_query
    def write_from_a_query(self, note: str) -> None:
        self.db.session.execute(insert(notes).values(text=note))

    @rpc_query
    def emit_from_a_query(self) -> None:
        self.db.emit("noted", {"text": "x"})

    @rpc_query
    def sql_from_a_query(self, sql: str) -> Any:
        return self.db.session.execute(text(sql)).scalar()

    @rpc_api
    def write_and_lose_the_connection(self, note: str, before_commit: bool) -> None:
        """The database ends this worker's session mid-transaction (or just before its
        commit), as ``pg_terminate_backend`` or a restart would."""
        session = self.db.session
        session.execute(insert(notes).values(text=note))
        _terminate(int(session.execute(select(func.pg_backend_pid())).scalar_one()))
        if not before_commit:
            session.execute(select(func.count()).select_from(notes))


def test_read_only_entrypoints_hold_no_transaction_and_cannot_write(url: str, vhost: str) -> None:
    cfg = infra.base_config(vhost, NOTEBOOK_DATABASE_URL=url)
    with infra.running(cfg, Notebook), RpcClient(cfg["AMQP_URI"]) as rpc:
        rpc.notebook.write("kept")
        # autocommit: once its statement is done the connection is idle, no BEGIN was sent
        assert rpc.notebook.count() == {"count": 1, "transaction": "IDLE"}
        assert rpc.notebook.count_in_transaction() == {"count": 1, "transaction": "INTRANS"}
        assert rpc.notebook.sql_from_a_query("SELECT count(*) FROM session_notes") == 1
        for refused in (lambda: rpc.notebook.write_from_a_query("lost"),
                        rpc.notebook.emit_from_a_query,
                        lambda: rpc.notebook.sql_from_a_query("DELETE FROM session_notes")):
            with pytest.raises(RemoteError) as err:
                refused()
            assert "read-only" in str(err.value)
        assert rpc.notebook.count()["count"] == 1
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(common.outbox)).scalar_one() == 0
    engine.dispose()


def _backend_pid(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.pg_backend_pid())).scalar_one())


def _terminate(pid: int) -> None:
    """End a backend as ``pg_terminate_backend`` does, and wait until it is gone."""
    admin = create_engine(URL)
    with admin.connect() as conn:
        assert conn.execute(select(func.pg_terminate_backend(pid, 10_000))).scalar_one()
    admin.dispose()


def _pooled_socket(engine: Any) -> Any:
    with engine.connect() as conn:
        return conn.connection.dbapi_connection.pgconn.socket


def _readable(sock: Any) -> bool:
    return bool(select_module.select([sock], [], [], 0)[0])


def _counting_pings(engine: Any) -> list[int]:
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> Any:
        pings.append(1)
        return ping(dbapi_connection)
    engine.dialect.do_ping = counted
    return pings


def test_an_idle_connection_is_checked_and_a_dead_one_replaced(url: str) -> None:
    engine = make_engine(url, pool_size=1, ping_idle_seconds=0)
    try:
        dead = _backend_pid(engine)
        _terminate(dead)  # e.g. the server restarted while the connection sat in the pool
        assert _backend_pid(engine) != dead  # no error: the ping found it and the pool reconnected
    finally:
        engine.dispose()


def test_a_recently_used_connection_is_not_pinged(url: str) -> None:
    engine = make_engine(url, pool_size=1, ping_idle_seconds=3600)
    pings = _counting_pings(engine)
    try:
        first = _backend_pid(engine)
        assert [_backend_pid(engine) for _ in range(3)] == [first] * 3
        assert pings == []
    finally:
        engine.dispose()


def test_a_recent_connection_the_server_closed_is_replaced_before_it_fails(url: str) -> None:
    """A terminated backend (``pg_terminate_backend``, a restart) says so on the socket
    before it goes: the pool sees it without a round trip and reconnects, so no statement
    fails on it (it used to cost the next call an error)."""
    engine = make_engine(url, pool_size=1, ping_idle_seconds=3600)
    pings = _counting_pings(engine)
    try:
        dead = _backend_pid(engine)
        sock = _pooled_socket(engine)
        _terminate(dead)
        wait_for(lambda: _readable(sock), interval=0.01,
                 what="the server's goodbye reaching the client")
        assert _backend_pid(engine) != dead  # no OperationalError
        assert pings == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("before_commit", [False, True], ids=["mid-call", "at-commit"])
def test_a_call_whose_connection_the_database_cut_fails_as_unavailable(
        url: str, vhost: str, before_commit: bool) -> None:
    """Not a 500 (a bug): a typed, retryable refusal; nothing of the call was kept, and the
    service goes on answering on fresh connections."""
    cfg = infra.base_config(vhost, NOTEBOOK_DATABASE_URL=url)
    with infra.running(cfg, Notebook), RpcClient(cfg["AMQP_URI"]) as rpc:
        with pytest.raises(DatabaseUnavailable) as err:
            rpc.notebook.write_and_lose_the_connection("lost", before_commit)
        assert err.value.status == 503 and err.value.code == "database_unavailable"
        rpc.notebook.write("kept")
        assert rpc.notebook.count()["count"] == 1


def test_a_call_that_cannot_connect_to_its_database_fails_as_unavailable(vhost: str) -> None:
    """The server refuses new connections (down, starting, or out of connection slots):
    the same retryable refusal, not a 500."""
    cfg = infra.base_config(vhost, NOTEBOOK_DATABASE_URL=infra.test_db_url("no_such_database"))
    with infra.running(cfg, Notebook), RpcClient(cfg["AMQP_URI"]) as rpc:
        with pytest.raises(DatabaseUnavailable):
            rpc.notebook.write("nowhere")
