"""Outbox relay + reliable handlers against real PostgreSQL and RabbitMQ."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, func, insert, select

from suivi_common.consumer import reliable_handler
from suivi_common.database import Database
from suivi_common.errors import Conflict
from suivi_common.logs import current_context
from suivi_common.rpc import RpcClient
from suivi_common.service_base import PlatformService, rpc_api
from suivi_common.tables import define_common_tables
from suivi_common.testing import infra
from suivi_common.testing.messages import publish_event
from suivi_common.testing.waiting import broker_settled, wait_for

metadata = MetaData()
common = define_common_tables(metadata)
records = Table("records", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                Column("value", String(100), nullable=False))
applied = Table("applied", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                Column("value", String(100), nullable=False))

URLS = {"producer": infra.test_db_url("common_producer"),
        "consumer": infra.test_db_url("common_consumer")}


@pytest.fixture(scope="session")
def db_urls() -> dict[str, str]:
    for url in URLS.values():
        infra.schema_database(url, metadata)
    return URLS


@pytest.fixture
def dbs(db_urls: dict[str, str]) -> dict[str, str]:
    """Producer and consumer each own a database, as services do in production."""
    for url in db_urls.values():
        infra.truncate_all(url, metadata)
    return db_urls


def config_for(vhost: str, dbs: dict[str, str]) -> dict[str, Any]:
    return infra.base_config(vhost, PRODUCER_DATABASE_URL=dbs["producer"],
                             CONSUMER_DATABASE_URL=dbs["consumer"])


FAIL_TIMES: dict[str, int] = {}
SEEN_CONTEXT: list[dict[str, Any]] = []


class Producer(PlatformService):
    name = "producer"
    db = Database(common, url_key="PRODUCER_DATABASE_URL")

    @rpc_api
    def write(self, value: str) -> None:
        self.db.session.execute(insert(records).values(value=value))
        self.db.emit("recorded", {"value": value})

    @rpc_api
    def write_then_refuse(self, value: str) -> None:
        self.db.session.execute(insert(records).values(value=value))
        self.db.emit("recorded", {"value": value})
        raise Conflict("refused after writing", code="refused")


class Consumer(PlatformService):
    name = "consumer"
    db = Database(common, url_key="CONSUMER_DATABASE_URL")

    @reliable_handler("producer", "recorded")
    def on_recorded(self, payload: dict[str, Any]) -> None:
        self.db.session.execute(insert(applied).values(value=payload["value"]))
        SEEN_CONTEXT.append({**current_context(), "principal": self.principal})
        left = FAIL_TIMES.get(payload["value"], 0)
        if left:
            FAIL_TIMES[payload["value"]] = left - 1
            raise RuntimeError("transient failure")


def count(url: str, table: Any, **where: Any) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        q = select(func.count()).select_from(table)
        for k, v in where.items():
            q = q.where(table.c[k] == v)
        n = conn.execute(q).scalar_one()
    engine.dispose()
    return int(n)


def raw_dead_letter(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(select(common.dead_letters.c.payload, common.dead_letters.c.error)).one()
    engine.dispose()
    return f"{row.payload} {row.error}"


def settled(vhost: str, dbs: dict[str, str]) -> bool:
    """Nothing is left to happen: every delivered event handled and acked (a handler acks
    after its commit), every outbox row relayed, and what was relayed consumed too. The
    test's way to say "and nothing more happened" without sleeping a guessed time."""
    return (broker_settled(vhost)
            and all(count(url, common.outbox) == 0 for url in dbs.values())
            and broker_settled(vhost))


def test_event_written_with_data_reaches_consumer_once(dbs: dict[str, str], vhost: str) -> None:
    cfg = config_for(vhost, dbs)
    with infra.running(cfg, Consumer, Producer):
        with RpcClient(cfg["AMQP_URI"]) as rpc:
            for i in range(20):
                rpc.producer.write(f"v{i}")
        wait_for(lambda: count(dbs["consumer"], applied) == 20, what="20 events applied")
        wait_for(lambda: settled(vhost, dbs), what="the broker and the outboxes settled")
        assert count(dbs["consumer"], applied) == 20
        assert count(dbs["consumer"], common.inbox) == 20


def test_refused_command_rolls_back_data_and_event(dbs: dict[str, str], vhost: str) -> None:
    cfg = config_for(vhost, dbs)
    with infra.running(cfg, Consumer, Producer):
        with RpcClient(cfg["AMQP_URI"]) as rpc:
            with pytest.raises(Conflict) as err:
                rpc.producer.write_then_refuse("nope")
            assert err.value.code == "refused"
            # a write after the refused one: once its event is applied and everything has
            # settled, the refused event would have been relayed and applied before it
            rpc.producer.write("after")
        wait_for(lambda: count(dbs["consumer"], applied, value="after") == 1,
                 what="the later event applied")
        wait_for(lambda: settled(vhost, dbs), what="the broker and the outboxes settled")
    assert count(dbs["producer"], records) == 1
    assert count(dbs["producer"], records, value="nope") == 0
    assert count(dbs["consumer"], applied) == 1
    assert count(dbs["consumer"], applied, value="nope") == 0
    assert count(dbs["producer"], common.outbox) == 0


def test_failing_handler_is_retried_then_dead_lettered_and_replayable(
        dbs: dict[str, str], vhost: str) -> None:
    FAIL_TIMES.update({"flaky": 2, "broken": 99})
    cfg = config_for(vhost, dbs)
    with infra.running(cfg, Consumer, Producer):
        with RpcClient(cfg["AMQP_URI"]) as rpc:
            rpc.producer.write("flaky")
            rpc.producer.write("broken")
            wait_for(lambda: count(dbs["consumer"], applied, value="flaky") == 1)
            wait_for(lambda: count(dbs["consumer"], common.dead_letters) == 1)
            assert count(dbs["consumer"], applied, value="broken") == 0
            raw = raw_dead_letter(dbs["consumer"])
            assert "broken" not in raw and "transient failure" not in raw  # sealed at rest
        FAIL_TIMES["broken"] = 0
        staff = {"user_id": "s1", "role": "staff"}
        with RpcClient(cfg["AMQP_URI"], principal=staff) as rpc:
            letters = rpc.consumer.list_dead_letters()
            assert [lt["payload"]["value"] for lt in letters] == ["broken"]
            assert "transient failure" in letters[0]["error"]
            rpc.consumer.replay_dead_letter(letters[0]["id"])
            wait_for(lambda: count(dbs["consumer"], applied, value="broken") == 1)
            assert rpc.consumer.list_dead_letters() == []


def test_redelivered_message_applies_once(dbs: dict[str, str], vhost: str) -> None:
    """The same message id delivered twice (a relay crash after publish) applies once."""
    cfg = config_for(vhost, dbs)
    with infra.running(cfg, Consumer):
        for _ in range(3):
            publish_event(cfg["AMQP_URI"], "producer", "recorded", {"value": "dup"},
                          message_id="fixed-id-1")
        wait_for(lambda: count(dbs["consumer"], applied, value="dup") >= 1, what="dup applied")
        # all three deliveries handled and acked: the two redeliveries were skipped
        wait_for(lambda: settled(vhost, dbs), what="the three deliveries handled")
    assert count(dbs["consumer"], applied, value="dup") == 1
    assert count(dbs["consumer"], common.inbox, message_id="fixed-id-1") == 1
    assert count(dbs["consumer"], common.inbox) == 1
    assert count(dbs["consumer"], common.dead_letters) == 0


def test_correlation_id_travels_and_an_event_speaks_for_its_emitting_service(
        dbs: dict[str, str], vhost: str) -> None:
    """The user's request and the event it caused share a correlation id; the event itself
    carries the producer's signed principal, never the user's."""
    SEEN_CONTEXT.clear()
    cfg = config_for(vhost, dbs)
    user = {"user_id": "u-1", "role": "user", "network_id": "n-1"}
    with infra.running(cfg, Consumer, Producer):
        with RpcClient(cfg["AMQP_URI"], principal=user,
                       context={"correlation_id": "req-123"}) as rpc:
            rpc.producer.write("traced")
        wait_for(lambda: count(dbs["consumer"], applied, value="traced") == 1)
    seen = SEEN_CONTEXT[-1]
    assert seen["correlation_id"] == "req-123" and seen["user_id"] == "producer"
    assert seen["principal"].is_service and seen["principal"].user_id == "producer"
