"""Leads distribution throughput: 100,000 stock leads to 5,000 auto-delivery plans.

Steps (``run_distribution_bench``):

1. seed a template database once: 12 country x tier groups, 5,000 active auto-delivery
   plans (quotas 16..32, so demand exceeds stock in every group: the fair-share path),
   100,000 stock leads with real AES-GCM personal data under the platform key;
2. the floor: one set-based SQL statement assigning the same stock to the same plans
   (first-fit, no fairness, no events), timed and rolled back;
3. for 1 and then 2 real ``nameko run`` instances on a fresh copy of the template: one
   ``run_auto_delivery`` RPC per instance at the same time (each instance works through
   the groups, skipping those another instance holds), timed until all return; then the
   lazy re-key of the sold leads to their buyers' network keys, timed on its own;
4. verification: 0 leads sold twice, 0 plans over quota, every lead either in stock or
   delivered once.
"""
from __future__ import annotations

import json
import os
import random
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import eventlet

eventlet.monkey_patch()

import psycopg  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from leads import testing  # noqa: E402
from leads.models import common  # noqa: E402
from suivi_common import clock  # noqa: E402
from suivi_common.crypto import PLATFORM_SCOPE, KeyRing, aad, seal  # noqa: E402
from suivi_common.migrations import upgrade  # noqa: E402
from suivi_common.principals import ensure_key_file  # noqa: E402
from suivi_common.rpc import RpcClient  # noqa: E402
from suivi_common.testing import infra  # noqa: E402

#: the tests' cluster (``infra.PG_BASE``), never a hard-coded port
PG_BASE, PG = infra.PG_BASE, infra.PG_PLAIN
SEED_DB, RUN_DB = "leads_bench_seed", "leads_bench_run"
COUNTRIES = ("FR", "BE", "CH", "LU")
TIERS = ("standard", "premium", "premium_plus")
LEADS = int(os.environ.get("BENCH_LEADS", "100000"))
PLANS = int(os.environ.get("BENCH_PLANS", "5000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))


def _admin(sql: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def seed(db: str, master_key_file: Path, *, plans: int, leads: int,
         groups: list[tuple[str, str]], quota: tuple[int, int], auto: bool,
         offices: bool = False, seed_value: int = 42) -> dict[str, Any]:
    """Create and fill ``db``: active plans spread over ``groups``, fresh stock leads with
    real AES-GCM personal data under the platform key. Returns demand and stock totals."""
    _admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{db}"')
    url = f"{PG_BASE}/{db}"
    upgrade(testing.MIGRATIONS, url, create=False)
    os.environ["SUIVI_MASTER_KEY_FILE"] = str(master_key_file)
    from suivi_common.crypto import load_master_key

    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        key = KeyRing(load_master_key(), common).data_key(session, PLATFORM_SCOPE)
    engine.dispose()

    rng = random.Random(seed_value)
    today = clock.today()
    now = clock.now()
    site_id = uuid.uuid4()
    demand = {g: 0 for g in groups}
    stocked = {g: 0 for g in groups}
    with psycopg.connect(f"{PG}/{db}") as conn:
        conn.execute("INSERT INTO capture_sites (id, name, url, key_hash, key_prefix) "
                     "VALUES (%s, 'bench', 'https://bench.example', %s, 'lck_bench')",
                     (site_id, uuid.uuid4().hex))
        with conn.cursor().copy(
                "COPY entitlements (plan_id, user_id, network_id, status, tier, country, "
                "start_date, end_date, records_remaining, quota_schedule, auto_delivery, "
                "version) FROM STDIN") as copy:
            for i in range(plans):
                country, tier = groups[i % len(groups)]
                q = rng.randint(*quota)
                demand[(country, tier)] += q
                copy.write_row((f"plan-{i:05d}", f"user-{i:05d}", f"net-{i % 50:02d}", "active",
                                tier, country, today, today + timedelta(days=29), q * 30,
                                json.dumps({today.isoformat(): q}), auto, 1))
        if offices:
            with conn.cursor().copy("COPY offices (user_id, active, source) FROM STDIN") as copy:
                for i in range(plans):
                    copy.write_row((f"user-{i:05d}", True, "event"))
        rows = []
        with conn.cursor().copy(
                "COPY leads (id, capture_site_id, status, country, tier, captured_at, "
                "key_scope, pii) FROM STDIN") as lead_copy:
            for i in range(leads):
                country, tier = groups[rng.randrange(len(groups))]
                lead_id = uuid.uuid4()
                captured = now - timedelta(seconds=rng.randint(0, 20 * 86400))
                pii = json.dumps({"first_name": "Bench", "last_name": f"Lead{i}",
                                  "email": f"bench{i}@example.org", "country": country,
                                  "mobile": {"e164": f"+336{i:08d}", "valid": True,
                                             "line_type": "mobile", "region": country}})
                blob = seal(key, pii.encode(), aad("leads", "pii", lead_id))
                lead_copy.write_row((lead_id, site_id, "accepted", country, tier, captured,
                                     PLATFORM_SCOPE, blob))
                rows.append((lead_id, country, tier, captured))
                stocked[(country, tier)] += 1
        with conn.cursor().copy("COPY stock (lead_id, country, tier, captured_at) FROM STDIN") as c:
            for row in rows:
                c.write_row(row)
        conn.execute("ANALYZE")
    expected = sum(min(demand[g], stocked[g]) for g in groups)
    return {"expected": expected, "demand": sum(demand.values()), "stock": sum(stocked.values()),
            "url": url}


def _seed(master_key_file: Path) -> dict[str, Any]:
    return seed(SEED_DB, master_key_file, plans=PLANS, leads=LEADS,
                groups=[(c, t) for c in COUNTRIES for t in TIERS], quota=(16, 32), auto=True)


def _fresh_run_db() -> str:
    _admin(f'DROP DATABASE IF EXISTS "{RUN_DB}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{RUN_DB}" TEMPLATE "{SEED_DB}"')
    return f"{PG_BASE}/{RUN_DB}"


FLOOR_SQL = """
WITH slots AS (
    SELECT e.plan_id, e.user_id, e.network_id, e.country, e.tier,
           row_number() OVER (PARTITION BY e.country, e.tier ORDER BY g, e.plan_id) AS rn
    FROM entitlements e
    CROSS JOIN LATERAL generate_series(1, (e.quota_schedule ->> %(today)s)::int) AS g
    WHERE e.status = 'active'
), ranked AS (
    SELECT lead_id, country, tier,
           row_number() OVER (PARTITION BY country, tier ORDER BY captured_at, lead_id) AS rn
    FROM stock
), paired AS (
    SELECT r.lead_id, s.plan_id, s.user_id, s.network_id
    FROM ranked r JOIN slots s USING (country, tier, rn)
), gone AS (
    DELETE FROM stock USING paired WHERE stock.lead_id = paired.lead_id
)
INSERT INTO deliveries (lead_id, plan_id, user_id, network_id, day, delivered_at, via)
SELECT lead_id, plan_id, user_id, network_id, %(day)s, now(), 'auto' FROM paired
"""


def _sql_floor() -> dict[str, Any]:
    _fresh_run_db()
    today = clock.today()
    with psycopg.connect(f"{PG}/{RUN_DB}") as conn:
        conn.execute("SET jit = off")  # as the service does: JIT only adds compile time here
        started = time.perf_counter()
        n = conn.execute(FLOOR_SQL, {"today": today.isoformat(), "day": today}).rowcount
        elapsed = time.perf_counter() - started
        conn.rollback()
    return {"leads": n, "seconds": round(elapsed, 3), "leads_per_s": round(n / elapsed)}


def _verify(url: str) -> dict[str, int]:
    plain = url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain) as conn:
        one = conn.execute
        double = one("SELECT count(*) - count(DISTINCT lead_id) FROM deliveries").fetchone()[0]
        both = one("SELECT count(*) FROM stock s JOIN deliveries d USING (lead_id)").fetchone()[0]
        over = one("""
            SELECT count(*) FROM (
                SELECT d.plan_id FROM deliveries d JOIN entitlements e USING (plan_id)
                GROUP BY d.plan_id, d.day
                HAVING count(*) > max((e.quota_schedule ->> d.day::text)::int)) x""").fetchone()[0]
        sold = one("SELECT count(*) FROM deliveries").fetchone()[0]
        left = one("SELECT count(*) FROM stock").fetchone()[0]
        rekeyed = one("SELECT count(*) FROM leads WHERE key_scope <> 'platform'").fetchone()[0]
        events = one("SELECT count(*) FROM outbox").fetchone()[0]
    return {"double_sold": double, "over_quota": over, "in_stock_and_sold": both, "sold": sold,
            "left_in_stock": left, "rekeyed": rekeyed, "events_unpublished": events}


def _run(instances: int, master_key_file: Path, expected: int, log_dir: Path,
         rekey: bool) -> dict[str, Any]:
    """One timed distribution on a fresh copy of the template, checked afterwards."""
    url = _fresh_run_db()
    vhost = infra.fresh_vhost()
    uri = infra.amqp_uri(vhost)
    principal_key_file = log_dir / "principal.key"
    principal_key = ensure_key_file(principal_key_file)
    env = {"DATABASE_URL": url, "AMQP_URI": uri, "SUIVI_ENV": "dev", "LOG_LEVEL": "WARNING",
           "SUIVI_MASTER_KEY_FILE": str(master_key_file),
           "SUIVI_PRINCIPAL_KEY_FILE": str(principal_key_file),
           "SUIVI_DEV_CLOCK_FILE": str(log_dir / "no-clock.json"),
           "AUTO_DELIVERY_INTERVAL_SECONDS": "3600", "STOCK_CHECK_INTERVAL_SECONDS": "3600",
           "DAY_CLOSE_INTERVAL_SECONDS": "3600", "REKEY_INTERVAL_SECONDS": "3600",
           "ENTITLEMENT_SYNC_RETRY_SECONDS": "3600"}
    procs = [testing.LeadsProcess(env, log_dir / f"leads-{instances}-{i}.log").start()
             for i in range(instances)]
    rekeyed, rekey_elapsed = 0, 0.0
    try:
        testing.wait_instances(vhost, instances, procs, timeout=60)
        # one connected client per instance, so the calls go out together; as leads itself
        # (run_auto_delivery and rekey are for services: leads' timers call them)
        holders = [RpcClient(uri, service="leads", key=principal_key) for _ in range(instances)]
        clients = [h.start() for h in holders]
        started = time.perf_counter()
        calls = [c.leads.run_auto_delivery.call_async() for c in clients]
        results = [c.result() for c in calls]
        elapsed = time.perf_counter() - started
        delivered = sum(r["delivered"] for r in results)
        if rekey:
            started = time.perf_counter()
            rekey_calls = [c.leads.rekey.call_async() for c in clients]
            rekeyed = sum(c.result()["rekeyed"] for c in rekey_calls)
            rekey_elapsed = time.perf_counter() - started
        for h in holders:
            h.stop()
        checks = _verify(url)
    finally:
        for p in procs:
            p.stop()
        infra.delete_vhost(vhost)
    return {
        "instances": instances, "delivered": delivered, "expected": expected,
        "seconds": round(elapsed, 3), "leads_per_s": round(delivered / elapsed),
        "groups_per_instance": [sum(1 for g in r["runs"] if g["delivered"]) for r in results],
        "rekeyed": rekeyed, "rekey_seconds": round(rekey_elapsed, 3),
        "rekey_per_s": round(rekeyed / rekey_elapsed) if rekey_elapsed else None,
        **checks,
    }


def _best_of(instances: int, master_key_file: Path, expected: int, log_dir: Path
             ) -> dict[str, Any]:
    """Best of REPEATS timed runs (a 2-vCPU box is noisy); every run is verified, the
    last one also times the re-key."""
    runs = [_run(instances, master_key_file, expected, log_dir, rekey=i == REPEATS - 1)
            for i in range(REPEATS)]
    best = dict(max(runs, key=lambda r: r["leads_per_s"]))
    for key in ("rekeyed", "rekey_seconds", "rekey_per_s"):
        best[key] = runs[-1][key]
    for key in ("double_sold", "over_quota", "in_stock_and_sold", "left_in_stock"):
        best[key] = max(r[key] for r in runs)  # the worst run's figure
    best["samples_leads_per_s"] = [r["leads_per_s"] for r in runs]
    return best


def run_distribution_bench() -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="suivi-bench-leads-"))
    master_key_file = work / "master.key"
    seeded = _seed(master_key_file)
    floor = _sql_floor()
    runs = [_best_of(n, master_key_file, seeded["expected"], work) for n in (1, 2)]
    figures = {
        "stock": seeded["stock"], "plans": PLANS, "demand": seeded["demand"],
        "sql_floor": floor, "runs": runs,
        "ratio_1_instance": round(runs[0]["leads_per_s"] / floor["leads_per_s"], 3),
        "ratio_2_instances": round(runs[1]["leads_per_s"] / floor["leads_per_s"], 3),
        "speedup_2_vs_1": round(runs[1]["leads_per_s"] / runs[0]["leads_per_s"], 2),
    }
    _print(figures)
    for db in (RUN_DB, SEED_DB):
        _admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    return figures


def _print(f: dict[str, Any]) -> None:
    floor = f["sql_floor"]
    print(f"leads distribution: {f['stock']} stock leads, {f['plans']} auto-delivery plans "
          f"(demand {f['demand']})")
    print(f"  SQL floor (one set-based statement): {floor['leads']} leads in "
          f"{floor['seconds']} s = {floor['leads_per_s']} leads/s")
    for r in f["runs"]:
        print(f"  {r['instances']} instance(s): {r['delivered']}/{r['expected']} leads in "
              f"{r['seconds']} s = {r['leads_per_s']} leads/s, best of "
              f"{r['samples_leads_per_s']} (groups per instance {r['groups_per_instance']}); "
              f"re-key {r['rekeyed']} in {r['rekey_seconds']} s = {r['rekey_per_s']}/s")
        print(f"    verified (worst of all runs): {r['double_sold']} double-sold, "
              f"{r['over_quota']} over-quota, {r['in_stock_and_sold']} both in stock and sold, "
              f"{r['left_in_stock']} left in stock")
    print(f"  ratio to floor: {f['ratio_1_instance']} (1 instance), {f['ratio_2_instances']} "
          f"(2 instances); 2 vs 1 instance: x{f['speedup_2_vs_1']}")


def run() -> dict[str, Any]:
    return run_distribution_bench()


if __name__ == "__main__":
    run_distribution_bench()
