"""A transaction of its own (``database.autonomous``): committed on exit whatever the
caller does next, rolled back if its block raises, and the outbox relay is woken only
once events written in it are committed. Real PostgreSQL."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import MetaData, create_engine, func, select
from sqlalchemy.engine import Engine

from suivi_common import outbox
from suivi_common.database import autonomous
from suivi_common.tables import define_common_tables
from suivi_common.testing import infra

metadata = MetaData()
common = define_common_tables(metadata)
URL = infra.test_db_url("common_autonomous")


@pytest.fixture(scope="module")
def db_url() -> str:
    return infra.schema_database(URL, metadata)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    infra.truncate_all(db_url, metadata)
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(common.outbox)).scalar_one())


def test_events_are_committed_before_the_relay_is_woken(engine: Engine) -> None:
    seen_at_wake: list[int] = []
    with autonomous(engine, lambda: seen_at_wake.append(stored(engine))) as session:
        outbox.emit(session, common, "thing_done", {"n": 1}, {"correlation_id": "c1"})
        outbox.emit(session, common, "thing_done", {"n": 2})
        assert stored(engine) == 0  # not visible before the block ends
    assert seen_at_wake == [2]
    with engine.connect() as conn:
        headers = conn.execute(select(common.outbox.c.headers).order_by(common.outbox.c.seq)).scalars()
        assert list(headers) == [{"nameko.correlation_id": "c1"}, {}]


def test_a_block_that_raises_leaves_nothing_and_wakes_nothing(engine: Engine) -> None:
    woken: list[bool] = []
    with pytest.raises(RuntimeError), autonomous(engine, lambda: woken.append(True)) as session:
        outbox.emit(session, common, "thing_done", {"n": 1})
        raise RuntimeError("refused")
    assert stored(engine) == 0 and woken == []


def test_no_event_no_wake(engine: Engine) -> None:
    woken: list[bool] = []
    with autonomous(engine, lambda: woken.append(True)) as session:
        session.execute(select(1))
    assert woken == []
