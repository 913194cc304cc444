"""Kill a publishing or a consuming service part-way through a stream (SIGKILL, real
processes), restart it, and check every event took effect exactly once. Also: the
database session does not block the eventlet hub (10 calls meet at a barrier inside the
database)."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, text

from suivi_common.rpc import RpcClient
from suivi_common.testing import infra
from suivi_common.testing.process import NamekoProcess
from suivi_common.testing.waiting import broker_settled, wait_for

HERE = Path(__file__).resolve().parent
URLS = {"producer": infra.test_db_url("common_crash_producer"),
        "consumer": infra.test_db_url("common_crash_consumer")}


@pytest.fixture
def db_urls() -> dict[str, str]:
    """Each service owns its database, as in production (a shared outbox table would be
    relayed by both services)."""
    sys.path.insert(0, str(HERE))
    try:
        import sample_services
    finally:
        sys.path.remove(str(HERE))
    for url in URLS.values():
        infra.schema_database(url, sample_services.metadata, drop=True)
    return URLS


def scalar(url: str, sql: str) -> Any:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar_one()
    engine.dispose()
    return value


def values(url: str, table: str) -> Counter[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = Counter(row[0] for row in conn.execute(text(f"SELECT value FROM {table}")))
    engine.dispose()
    return found


def rpc_ready(uri: str, service: str) -> None:
    def answers() -> bool:
        try:
            with RpcClient(uri, timeout=10) as rpc:
                return getattr(rpc, service).health()["status"] == "ok"
        except Exception:
            return False
    wait_for(answers, what=f"{service} answering")


def settled(vhost: str, urls: list[str]) -> bool:
    """Nothing is left to happen: no message waits in or is in flight from any queue of
    the vhost (a consumer acks an event after its handler committed; an RPC request
    redelivered after a kill is a message too), and every outbox is relayed, then
    consumed."""
    return (broker_settled(vhost)
            and all(scalar(url, "SELECT count(*) FROM outbox") == 0 for url in urls)
            and broker_settled(vhost))


@pytest.fixture
def procs(tmp_path: Path, db_urls: dict[str, str], vhost: str) -> Iterator[dict[str, Any]]:
    made: dict[str, Any] = {}
    for role, target in (("producer", "CrashProducer"), ("consumer", "CrashConsumer")):
        cfg = infra.base_config(vhost, DATABASE_URL=db_urls[role],
                                EVENT_RETRY_DELAYS_MS=[100, 200, 400])
        cfg_path = tmp_path / f"{role}.yaml"
        cfg_path.write_text(yaml.safe_dump(cfg))
        made[role] = NamekoProcess(cfg_path, f"sample_services:{target}", tmp_path / f"{role}.log",
                                   cwd=HERE, stop_timeout=10)
    made.update(uri=cfg["AMQP_URI"], url=db_urls["producer"], consumer_url=db_urls["consumer"])
    yield made
    made["producer"].stop()
    made["consumer"].stop()


def test_kill_publisher_and_consumer_mid_stream_every_event_applies_once(
        procs: dict[str, Any], vhost: str) -> None:
    producer, consumer, uri, url = procs["producer"], procs["consumer"], procs["uri"], procs["url"]
    curl = procs["consumer_url"]
    consumer.start()
    producer.start()
    rpc_ready(uri, "crash_consumer")
    rpc_ready(uri, "crash_producer")

    stop = threading.Event()

    def write_stream() -> None:
        i = 0
        while not stop.is_set():
            try:
                with RpcClient(uri, timeout=3) as rpc:
                    while not stop.is_set():
                        rpc.crash_producer.write(f"v{i}")
                        i += 1
            except Exception:
                time.sleep(0.1)  # producer down: keep trying, like a real client
            i += 1  # a call that failed mid-flight may or may not have committed

    writer = threading.Thread(target=write_stream, daemon=True)
    writer.start()
    wait_for(lambda: scalar(url, "SELECT count(*) FROM crash_records") >= 150, what="150 rows")
    producer.kill()  # publisher dies with events possibly still in its outbox
    consumer.kill()  # consumer dies with messages in flight
    producer.start()
    consumer.start()
    rpc_ready(uri, "crash_producer")
    wait_for(lambda: scalar(url, "SELECT count(*) FROM crash_records") >= 300, what="300 rows")
    consumer.kill()
    consumer.start()
    wait_for(lambda: scalar(url, "SELECT count(*) FROM crash_records") >= 400, what="400 rows")
    stop.set()
    writer.join(60)

    written = scalar(url, "SELECT count(*) FROM crash_records")
    try:
        wait_for(lambda: scalar(curl, "SELECT count(*) FROM crash_applied") >= written,
                 what="the consumer catching up")
        # any duplicate delivery (or a redelivered write) lands before this holds
        wait_for(lambda: settled(vhost, [url, curl]), what="the broker and outboxes settled")
    except AssertionError:
        detail = {q: scalar(curl, q) for q in (
            "SELECT count(*) FROM crash_applied", "SELECT count(*) FROM inbox",
            "SELECT count(*) FROM dead_letters")}
        detail["producer outbox"] = scalar(url, "SELECT count(*) FROM outbox")
        queues = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", uri.rsplit("/", 1)[1],
                                 "name", "messages", "messages_unacknowledged", "consumers"],
                                capture_output=True, text=True).stdout
        raise AssertionError(f"consumer did not catch up: {detail}\n{queues}") from None
    # Each committed row's event applied exactly once. (An RPC request redelivered after
    # the producer died between commit and ack writes a second row with the same value,
    # with its own event: so compare multisets, row for row.)
    assert values(curl, "crash_applied") == values(url, "crash_records")
    assert scalar(curl, "SELECT count(*) FROM inbox") == scalar(
        url, "SELECT count(*) FROM crash_records")
    assert scalar(url, "SELECT count(*) FROM outbox") == 0
    assert scalar(curl, "SELECT count(*) FROM dead_letters") == 0


def test_database_io_does_not_block_the_hub(procs: dict[str, Any]) -> None:
    """10 calls through one service (its 10 workers) meet at a barrier inside the database:
    each waits there, in ``pg_sleep``, until all 10 have arrived. That needs the 10 to be
    in the database at once, which a blocking database wait makes impossible (the first
    call would hold the process until its bound). Nothing depends on speed: a slow
    machine only takes longer to meet."""
    producer, uri = procs["producer"], procs["uri"]
    producer.start()
    rpc_ready(uri, "crash_producer")
    with RpcClient(uri, timeout=180) as rpc:
        calls = [rpc.crash_producer.meet.call_async(10, 1200) for _ in range(10)]  # 60 s bound
        seen = [c.result() for c in calls]
    assert seen == [10] * 10, f"arrivals each call saw: {seen}: the hub is blocked"
