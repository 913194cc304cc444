"""Statistics models (issue 13 §5): a model's figures over 100,000 leads in one network,
through the whole platform, against the bare set-based SQL in the same run.

Steps (``run``):

1. a fresh platform (every service and the gateway, its own databases and vhost); staff
   create a network, its admin and one member onboard over HTTP, and the admin defines
   the models over HTTP;
2. the leads database gets, straight in SQL (statistics read no personal data, so the
   rows carry none): ``BENCH_STATS_LEADS`` (100,000) office leads in that network over
   365 days, 20 % the member's and the rest spread over 199 other owners, 6 statuses,
   2 origins; a status move in ``office_history`` for each won lead; 2,000 refund
   claims; 20,000 leads of another network; then ``ANALYZE``;
3. for each scenario, ``BENCH_STATS_CALLS`` (100) sequential ``GET /api/stats/{id}`` over
   the 365 days after 10 warm-up calls (gateway, ``accounts.stat_scope``,
   ``leads.stat_counts``, the shaping), then the same number of runs of the bare
   statement ``leads.usecases.stats`` builds, on one connection (the floor);
   p50/p99 of each, and the ratio of the p50s.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from bench.stack import drop_vhost, fresh_platform
from leads.usecases import stats as lead_stats
from suivi_common import stats
from tools.api_client import Api, Mailbox, onboard
from tools.platform import DEV_STAFF

LEADS = int(os.environ.get("BENCH_STATS_LEADS", "100000"))
CALLS = int(os.environ.get("BENCH_STATS_CALLS", "100"))
WARMUP = 10
PASSWORD = "Violet-Tractor-Mango-2026"
LAST = date(2026, 11, 30)
FIRST = LAST - timedelta(days=364)

SEED = """
INSERT INTO office_leads (id, owner_id, network_id, origin, status, created_at, updated_at,
                          emails_sent)
SELECT gen_random_uuid(),
       CASE WHEN i % 5 = 0 THEN :member ELSE 'bench-owner-' || (i % 199) END,
       :network,
       CASE WHEN i % 5 = 1 THEN 'personal' ELSE 'purchased' END,
       (ARRAY['new','new','new','new','contacted','contacted','contacted','meeting','meeting',
              'client','client','distributor','not_interested','not_interested'])[1 + (i * 3) % 14],
       t, t, 0
FROM generate_series(1, :n) AS i,
     LATERAL (SELECT :last_instant - (i % 365) * interval '1 day'
                     - (i % 86400) * interval '1 second' AS t) AS at
"""
OTHER_NETWORK = SEED.replace(":network", "'net-other'").replace(":member", "'other-member'")
MOVES = """
INSERT INTO office_history (id, lead_id, field, actor_id, source, via, changed_at)
SELECT gen_random_uuid(), l.id, 'status', l.owner_id, 'user', 'status',
       l.created_at + interval '3 days'
FROM office_leads l WHERE l.network_id = :network AND l.status IN ('client', 'distributor')
"""
CLAIMS = """
INSERT INTO refund_claims (id, lead_id, user_id, network_id, plan_id, reason, status, created_at)
SELECT gen_random_uuid(), l.id, l.owner_id, l.network_id, 'plan-1', 'unreachable',
       (ARRAY['pending','approved','rejected'])[1 + (row_number() OVER ()) % 3], l.created_at
FROM office_leads l WHERE l.network_id = :network AND l.origin = 'purchased' LIMIT 2000
"""
#: (name, who asks, metric, grouping)
SCENARIOS = [
    ("admin: leads received per week", "admin", "leads_received", "week"),
    ("admin: leads received per member", "admin", "leads_received", "member"),
    ("admin: leads by status per month", "admin", "leads_by_status", "month"),
    ("admin: won leads per month", "admin", "leads_final", "month"),
    ("admin: claims by status", "admin", "claims", "status"),
    ("member: leads by status per month", "member", "leads_by_status", "month"),
]


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)  # (no ``statistics`` import: this module's own name)
    return {"p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1)}


def _timed(fn: Callable[[], Any], calls: int) -> list[float]:
    for _ in range(WARMUP):
        fn()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def run() -> dict[str, Any]:
    platform = fresh_platform("_bench_stats")
    platform.start()
    try:
        return _measure(platform)
    finally:
        platform.stop()
        drop_vhost(platform.vhost)


def _measure(platform: Any) -> dict[str, Any]:
    mailbox = Mailbox(platform.var_dir / "mail")
    staff = Api(platform.url).login(*DEV_STAFF)
    staff.post("/api/networks", {"name": "Bench stats", "admin": {
        "email": "stats-admin@example.org", "first_name": "Bench", "last_name": "Admin"}})
    admin = onboard(platform.url, mailbox, "stats-admin@example.org", PASSWORD)
    network_id = admin.get("/api/network")["id"]
    member_id = admin.post("/api/network/members", {
        "email": "stats-member@example.org", "first_name": "Bench", "last_name": "Member"},
        expect=201)["id"]
    member = onboard(platform.url, mailbox, "stats-member@example.org", PASSWORD)
    models = {}
    for name, _, metric, grouping in SCENARIOS:
        models[name] = admin.post("/api/network/stat-models", {
            "name": name, "metric": metric, "grouping": grouping, "window_days": 365},
            expect=201)["id"]

    engine = create_engine(platform.db_url("leads"))
    started = time.perf_counter()
    last_instant = stats.bounds(LAST, LAST)[1] - timedelta(hours=1)
    with engine.begin() as conn:
        conn.execute(text(SEED), {"member": member_id, "network": network_id, "n": LEADS,
                                  "last_instant": last_instant})
        conn.execute(text(OTHER_NETWORK), {"n": 20_000, "last_instant": last_instant})
        conn.execute(text(MOVES), {"network": network_id})
        conn.execute(text(CLAIMS), {"network": network_id})
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    seeded = {"leads": LEADS, "other_network_leads": 20_000,
              "seed_seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(seeded), flush=True)

    results: dict[str, Any] = {"seed": seeded, "scenarios": []}
    query = f"?from={FIRST.isoformat()}&to={LAST.isoformat()}"
    for name, who, metric, grouping in SCENARIOS:
        api = admin if who == "admin" else member
        path = f"/api/stats/{models[name]}{query}"
        answer = api.get(path)
        http = _percentiles(_timed(lambda api=api, path=path: api.get(path), CALLS))
        if who == "admin":
            scope = stats.Scope(network_id, None, (str(api.get("/api/me")["id"]), member_id))
        else:
            scope = stats.Scope(network_id, member_id, (member_id,))
        sql = text(lead_stats.counts_sql(metric, grouping, scope))
        params = dict(stats.params(scope, FIRST, LAST), final=list(stats.FINAL_STATUSES))
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            floor = _percentiles(_timed(
                lambda conn=conn, sql=sql, params=params: conn.execute(sql, params).all(), CALLS))
        counted = sum(p["value"] for s in answer["series"] for p in s["points"])
        row = {"scenario": name, "http": http, "bare_sql": floor, "counted": counted,
               "points": sum(len(s["points"]) for s in answer["series"]),
               "http_vs_sql_p50": round(http["p50_ms"] / max(floor["p50_ms"], 0.1), 2)}
        results["scenarios"].append(row)
        print(f"  {name:<36} HTTP p50 {http['p50_ms']:>6} ms p99 {http['p99_ms']:>6} ms | "
              f"bare SQL p50 {floor['p50_ms']:>6} ms p99 {floor['p99_ms']:>6} ms "
              f"({counted} counted)", flush=True)
    svg_model = models[SCENARIOS[0][0]]
    results["svg"] = _percentiles(_timed(lambda: admin.call(
        "GET", f"/api/stats/{svg_model}{query}&format=svg", expect=200), max(10, CALLS // 5)))
    print(f"  {'admin: per week as SVG':<36} HTTP p50 {results['svg']['p50_ms']:>6} ms "
          f"p99 {results['svg']['p99_ms']:>6} ms", flush=True)
    engine.dispose()
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, default=str))
