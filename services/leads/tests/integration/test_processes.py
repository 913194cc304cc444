"""Real ``nameko run`` processes: a consumer killed mid-stream, and two instances under load."""
from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import eventlet
import pytest
from kombu import Connection
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from leads import testing
from leads.amqp import capture_queue
from leads.capture_client import CaptureClient
from leads.models import common, deliveries, entitlements, leads, offices, plan_days, stock
from leads.usecases.capture import create_site
from suivi_common import clock
from suivi_common.rpc import RpcClient


def env_for(cfg: dict[str, Any], **more: str) -> dict[str, str]:
    return {"DATABASE_URL": cfg["DATABASE_URL"], "AMQP_URI": cfg["AMQP_URI"],
            "SUIVI_ENV": "test", "SUIVI_MASTER_KEY_FILE": cfg["SUIVI_MASTER_KEY_FILE"],
            "LOG_LEVEL": "WARNING", "AUTO_DELIVERY_INTERVAL_SECONDS": "3600",
            "STOCK_CHECK_INTERVAL_SECONDS": "3600", "DAY_CLOSE_INTERVAL_SECONDS": "3600",
            "ENTITLEMENT_SYNC_RETRY_SECONDS": "3600", "REKEY_INTERVAL_SECONDS": "0.5", **more}


@pytest.fixture
def procs(cfg: dict[str, Any], tmp_path: Path) -> Iterator[list[testing.LeadsProcess]]:
    started: list[testing.LeadsProcess] = []
    yield started
    for p in started:
        p.kill()


def spawn(procs: list[testing.LeadsProcess], cfg: dict[str, Any], tmp_path: Path,
          count: int = 1) -> list[testing.LeadsProcess]:
    new = [testing.LeadsProcess(env_for(cfg), tmp_path / f"leads-{len(procs) + i}.log").start()
           for i in range(count)]
    procs.extend(new)
    return new


def site_key(engine: Engine, kind: str | None = None) -> str:
    with Session(engine) as session, session.begin():
        return create_site(session, "Feed", "https://feed.example.fr", clock.now(),
                           kind)["key"]


def count(engine: Engine, query: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def test_amqp_capture_survives_a_consumer_killed_mid_stream(
        cfg: dict[str, Any], vhost: str, engine: Engine, procs: list, tmp_path: Path) -> None:
    key = site_key(engine)
    total, batch = 3000, 10
    items = [testing.raw_lead(i) for i in range(total)]
    with Connection(cfg["AMQP_URI"]) as conn:  # as the broker's definitions declare them
        capture_queue()(conn.channel()).declare()
    with CaptureClient(cfg["AMQP_URI"], key) as client:
        client.send(items, batch_size=batch)
        replayed = client.publish(items[:batch])  # the first batch again: same message id
        client.publish([testing.raw_lead(9_999_999)])
    with CaptureClient(cfg["AMQP_URI"], "lck_not-a-key") as intruder:
        intruder.publish([testing.raw_lead(8_888_888)])
    stored = select(func.count()).select_from(leads)

    first = spawn(procs, cfg, tmp_path)[0]
    testing.wait_for(lambda: count(engine, stored) >= 400)
    first.kill()  # SIGKILL while messages are in flight
    at_kill = count(engine, stored)
    assert at_kill < total, "the consumer should still have had work when it was killed"

    spawn(procs, cfg, tmp_path)
    testing.wait_for(lambda: count(engine, stored) >= total + 1)
    # every message handled and acked, redeliveries of the killed instance's included:
    # a double-store would be in the table by now, whatever the machine's speed
    testing.wait_for(lambda: testing.broker_settled(vhost, "leads.capture"), what="queue drained")
    assert count(engine, stored) == total + 1
    assert count(engine, select(func.count()).select_from(leads)
                 .where(leads.c.status == "duplicate")) == 0
    assert count(engine, select(func.count()).select_from(stock)) == total + 1
    assert count(engine, select(func.count()).select_from(common.inbox)
                 .where(common.inbox.c.handler == "leads.capture_from_queue")) == total // batch + 2
    assert replayed  # the replayed batch (same message id) stored nothing twice
    assert testing.queue_consumers(vhost, "leads.capture") == 1


def test_two_instances_never_double_sell_never_exceed_quota_never_lose(
        cfg: dict[str, Any], vhost: str, engine: Engine, procs: list, tmp_path: Path) -> None:
    """Groups are country x tier x kind (issue 13 §1): half the plans buy distribution
    leads, half construction ones (their snapshots without a kind, as before kinds), and
    two capture sites feed each kind; every guarantee holds per group, and no plan gets a
    lead of the other kind."""
    rng = random.Random(7)
    spawn(procs, cfg, tmp_path, count=2)
    testing.wait_instances(vhost, 2, procs)
    uri = cfg["AMQP_URI"]
    today = clock.today()
    plans = []
    for i in range(24):
        tier = ("premium_plus", "premium")[i % 2]
        kind = (None, "distribution")[(i // 2) % 2]
        snap = testing.snapshot(f"plan-{i}", f"user-{i}", {today: rng.randint(5, 40)}, tier=tier,
                                network_id=f"net-{i % 3}", auto=(i % 3 == 0), kind=kind)
        plans.append(snap)
        testing.publish_event(uri, "plans", "plan_activated", snap)
        testing.publish_event(uri, "accounts", "subscription_activated", {"user_id": f"user-{i}"})
    testing.wait_for(lambda: count(engine, select(func.count()).select_from(entitlements)) == 24
                     and count(engine, select(func.count()).select_from(offices)) == 24)
    keys = (site_key(engine), site_key(engine, "distribution"))
    tiers = ("premium_plus", "premium")

    def capture(start: int, n: int) -> None:
        with RpcClient(uri) as rpc:
            for offset in range(0, n, 50):
                rpc.leads.capture(keys[(offset // 50) % 2],
                                  [testing.raw_lead(start + offset + j,
                                                    tier=tiers[(offset + j) % 2])
                                   for j in range(min(50, n - offset))])

    capture(0, 300)

    def taker(worker: int) -> int:
        got = 0
        mine = [p for p in plans if int(p["plan_id"].split("-")[1]) % 6 == worker % 6]
        ctx = {}
        for _ in range(12):
            plan = rng.choice(mine)
            ctx = {"user_id": plan["user_id"], "role": "user", "network_id": plan["network_id"]}
            with RpcClient(uri, principal=ctx) as rpc:
                got += len(rpc.leads.take(plan["plan_id"], limit=rng.randint(1, 8))["leads"])
        return got

    def runner() -> None:
        with RpcClient(uri, service="leads") as rpc:  # as leads' own timer would
            for _ in range(6):
                rpc.leads.run_auto_delivery()

    pool = [eventlet.spawn(taker, w) for w in range(12)]
    pool += [eventlet.spawn(runner) for _ in range(4)]
    pool.append(eventlet.spawn(capture, 10_000, 300))  # stock keeps arriving meanwhile
    for g in pool:
        g.wait()

    with engine.connect() as conn:
        over = conn.execute(text("""
            SELECT d.plan_id, count(*) AS n, max((e.quota_schedule ->> CAST(d.day AS text))::int) AS q
            FROM deliveries d JOIN entitlements e USING (plan_id)
            GROUP BY d.plan_id, d.day HAVING count(*) > max((e.quota_schedule ->> CAST(d.day AS text))::int)
        """)).all()
        mismatched = conn.execute(text("""
            SELECT count(*) FROM deliveries d JOIN leads l ON l.id = d.lead_id
            JOIN entitlements e ON e.plan_id = d.plan_id
            WHERE l.country <> e.country OR l.tier <> e.tier OR l.kind <> e.kind""")).scalar()
        sold_by_kind = dict(conn.execute(text("""
            SELECT e.kind, count(*) FROM deliveries d JOIN entitlements e USING (plan_id)
            GROUP BY e.kind""")).all())
        both = conn.execute(text(
            "SELECT count(*) FROM stock s JOIN deliveries d USING (lead_id)")).scalar()
        accepted = conn.execute(select(func.count()).select_from(leads)
                                .where(leads.c.status == "accepted")).scalar()
        sold = conn.execute(select(func.count()).select_from(deliveries)).scalar()
        in_stock = conn.execute(select(func.count()).select_from(stock)).scalar()
        books = dict(conn.execute(select(plan_days.c.plan_id, plan_days.c.taken)).all())
        counted = dict(conn.execute(select(deliveries.c.plan_id, func.count())
                                    .group_by(deliveries.c.plan_id)).all())
    assert over == []  # no plan over its quota
    assert mismatched == 0  # country, tier and kind always match
    assert sold_by_kind.keys() == {"construction", "distribution"}  # both kinds were sold
    assert both == 0 and accepted == 600 and sold + in_stock == 600  # none lost, none twice
    assert sold > 300  # real contention: stock was short and fought over
    assert {k: v for k, v in books.items() if v} == counted  # day books match the deliveries
