"""The office with 100,000 leads in one office: listing latency and the XLSX export.

Steps (``run``):

1. seed ``leads_office_bench`` once (kept between runs; ``BENCH_RESEED=1`` rebuilds it):
   the leads + office schema (the leads migrations), one office of ``BENCH_OFFICE_LEADS``
   leads (100,000: 80 % bought over 5 plans, 20 % personal, 6 statuses, 50 cities, created
   over 180 days) plus 20,000 leads of 4 other users of the same network, every row
   encrypted exactly as the use cases do it (``testing.bulk_rows``), written with COPY;
   also times ``receive_delivery`` (the ``lead_delivered`` handler's use case) on 500 sales;
2. listing: p50/p99 of ``queries.list_leads`` called in-process (one session per call, as a
   worker; it includes computing the blind index of the filter value and decrypting the 50
   leads of the page; RPC and HTTP are not included), 200 calls per scenario;
3. export, each measurement in a fresh subprocess (RSS before the work and peak RSS during
   it from /proc/self/status, the peak reset just before the work; Python heap peak from
   ``tracemalloc`` in a separate run as it slows the code down):
   * the service: ``export.start`` (query in batches, decrypt, openpyxl write-only into a
     temp file, store the file encrypted in chunks) then every ``export.chunk``;
   * the floor: the same rows already decrypted in a Python list, written through openpyxl
     write-only to a temp file (no database, no crypto).
"""
from __future__ import annotations

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, text

from leads import office_testing as testing
from leads.models import office_leads
from leads.usecases.office import export, one_lead, queries
from suivi_common import clock
from suivi_common.testing import infra

DB = "leads_office_bench"
URL = f"{infra.PG_BASE}/{DB}"
OWNER, NETWORK = "bench-owner", "net-bench"
LEADS = int(os.environ.get("BENCH_OFFICE_LEADS", "100000"))
OTHERS = 20_000
CALLS = int(os.environ.get("BENCH_LISTING_CALLS", "200"))
STATUSES = ("new", "contacted", "meeting", "client", "distributor", "not_interested")
STATUS_WEIGHTS = (40, 25, 10, 10, 5, 10)
CITIES = [(f"Ville{i:02d}", f"{(i % 95) + 1:02d}{i:03d}") for i in range(50)]
CITIES[7] = ("Saint-Étienne", "42000")
NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
COLUMNS = [c.name for c in office_leads.columns]


def _stored(i: int, rng: random.Random) -> dict[str, Any]:
    city, postal = CITIES[i % len(CITIES)]
    mobile = {"e164": f"+3367{i:07d}", "valid": True, "line_type": "mobile", "region": "FR"}
    return {"first_name": rng.choice(("Jean", "Marie", "Luc", "Anne", "Paul", "Julie")),
            "last_name": f"Nom{i}", "email": f"lead{i}@example{i % 50}.fr", "landline": None,
            "mobile": mobile, "call_window": "18h-20h", "postal_code": postal, "city": city,
            "country": "FR", "professional_situation": None, "time_available": "10h",
            "birth_date": None, "income_goal": "1000", "source_url": "https://form.example.fr",
            "consent_at": "2025-01-01T10:00:00+00:00", "capture_ip": None}


def _items(owner_leads: int, rng: random.Random, offset: int) -> list[tuple[Any, ...]]:
    items = []
    for i in range(owner_leads):
        n = offset + i
        personal = rng.random() < 0.2
        status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
        created = NOW - timedelta(seconds=rng.randint(0, 180 * 86400))
        items.append((_stored(n, rng), "personal" if personal else "purchased", status, created,
                      None if personal else f"plan-{n % 5}"))
    return items


def _copy(rows: list[dict[str, Any]]) -> None:
    with psycopg.connect(URL.replace("+psycopg", "")) as conn:
        columns = [c for c in COLUMNS if c in rows[0]]  # bulk_rows' (others: defaults)
        with conn.cursor().copy(f"COPY office_leads ({', '.join(columns)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row([r[c] for c in columns])


def seed() -> dict[str, Any]:
    engine = testing.migrated_database(URL, fresh=bool(os.environ.get("BENCH_RESEED")))
    h = testing.Harness(engine)
    with engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM office_leads WHERE owner_id = :o"),
                            {"o": OWNER}).scalar()
    out: dict[str, Any] = {"office_leads": LEADS, "other_leads": OTHERS}
    if have != LEADS:
        engine.dispose()
        engine = testing.migrated_database(URL, fresh=True)
        h = testing.Harness(engine)
        rng = random.Random(7)
        started = time.perf_counter()
        with h.session() as session:
            vault = h.vault(session)
            for owner, count, offset in [(OWNER, LEADS, 0)] + [
                    (f"other-{k}", OTHERS // 4, LEADS + k * OTHERS) for k in range(4)]:
                for start in range(0, count, 10_000):
                    items = _items(min(10_000, count - start), rng, offset + start)
                    _copy(testing.bulk_rows(vault, owner_id=owner, network_id=NETWORK,
                                            items=items))
            session.commit()
        out["seed_seconds"] = round(time.perf_counter() - started, 1)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    out["delivery"] = _deliveries(h)
    engine.dispose()
    return out


def _deliveries(h: testing.Harness, n: int = 500) -> dict[str, Any]:
    """``receive_delivery`` (the lead_delivered handler's work) on n sales, one per txn."""
    payloads = []
    with h.session() as session:
        vault = h.vault(session)
        for i in range(n):
            payloads.append(testing.sell(
                session, vault, owner_id="bench-buyer", network_id=NETWORK, plan_id="plan-x",
                raw=testing.raw_lead(i), delivered_at=clock.now(),
                scope=NETWORK if i % 2 else "platform"))
        session.commit()
    started = time.perf_counter()
    for p in payloads:
        h.run(one_lead.receive_delivery, p)
    seconds = time.perf_counter() - started
    with h.engine.begin() as conn:  # leave the office data set as it was
        conn.execute(text("DELETE FROM office_leads WHERE owner_id = 'bench-buyer'"))
        conn.execute(text("DELETE FROM deliveries"))
        conn.execute(text("DELETE FROM leads"))
    return {"events": n, "seconds": round(seconds, 2), "per_second": round(n / seconds)}


SCENARIOS: list[tuple[str, dict[str, Any], str]] = [
    ("no filter, newest first", {}, "created_desc"),
    ("status = meeting", {"status": "meeting"}, "created_desc"),
    ("origin = personal", {"origin": "personal"}, "created_desc"),
    ("plan = plan-3", {"plan_id": "plan-3"}, "created_desc"),
    ("created in one week", {"created_from": "2025-05-01", "created_to": "2025-05-07"},
     "created_desc"),
    ("city (blind index)", {"city": "saint etienne"}, "created_desc"),
    ("postal code (blind index)", {"postal_code": "42000"}, "created_desc"),
    ("email, exact (blind index)", {"email": "lead4242@example42.fr"}, "created_desc"),
    ("phone, national format (blind index)", {"phone": "06 70 00 42 42"}, "created_desc"),
    ("status = contacted + city", {"status": "contacted", "city": "Ville03"}, "created_desc"),
    ("sort by status (pipeline order)", {}, "status"),
    ("sort by status, origin = personal", {"origin": "personal"}, "status"),
]


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 2)}


def listing() -> list[dict[str, Any]]:
    engine = create_engine(URL)
    h = testing.Harness(engine)
    actor = testing.user(OWNER, NETWORK)
    results = []
    for name, filters, sort in SCENARIOS:
        h.run(queries.list_leads, OWNER, NETWORK, filters, sort, None, 50, actor=actor)  # warm
        samples, items = [], 0
        for _ in range(CALLS):
            started = time.perf_counter()
            page = h.run(queries.list_leads, OWNER, NETWORK, filters, sort, None, 50, actor=actor)
            samples.append(time.perf_counter() - started)
            items = len(page["items"])
        results.append({"scenario": name, "page_items": items, **_percentiles(samples)})
    # a deep page: 20 pages in, via the cursor
    cursor = None
    for _ in range(20):
        cursor = h.run(queries.list_leads, OWNER, NETWORK, {"status": "new"}, "created_desc",
                       cursor, 50, actor=actor)["next_cursor"]
    samples = []
    for _ in range(CALLS):
        started = time.perf_counter()
        h.run(queries.list_leads, OWNER, NETWORK, {"status": "new"}, "created_desc", cursor, 50,
              actor=actor)
        samples.append(time.perf_counter() - started)
    results.append({"scenario": "status = new, page 21 (cursor)", "page_items": 50,
                    **_percentiles(samples)})
    engine.dispose()
    return results


# --- export (child processes) ------------------------------------------------------------------

def _status_mb(key: str) -> float:
    """VmRSS / VmHWM of this process. Not ``getrusage``: a child's ru_maxrss starts at its
    parent's peak (it survives fork and exec), which would hide the child's own figure."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> float:
    """Start the peak (VmHWM) again from the current RSS; returns that RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    return _status_mb("VmRSS")


def _rss_mb() -> float:
    return _status_mb("VmHWM")


def _child_service(trace: bool) -> dict[str, Any]:
    engine = create_engine(URL)
    h = testing.Harness(engine)
    actor = testing.user(OWNER, NETWORK)
    h.run(queries.list_leads, OWNER, NETWORK, {}, None, None, 1, actor=actor)  # warm imports
    base = _reset_peak()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    job = h.run(export.start, OWNER, NETWORK, {}, "xlsx", "fr", actor=actor)
    built = time.perf_counter() - started
    size = 0
    for n in range(job["chunks"]):
        size += len(h.run(export.chunk, OWNER, job["export_id"], n, actor=actor)["data"]) * 3 // 4
    total = time.perf_counter() - started
    out = {"rows": job["rows"], "bytes": job["bytes"], "chunks": job["chunks"],
           "build_seconds": round(built, 2), "total_seconds": round(total, 2),
           "rss_baseline_mb": round(base, 1), "rss_peak_mb": round(_rss_mb(), 1)}
    if trace:
        out["python_heap_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    return out


def _child_floor(trace: bool) -> dict[str, Any]:
    engine = create_engine(URL)
    h = testing.Harness(engine)
    where_rows: list[list[Any]] = []
    with h.session() as session:  # the same rows, decrypted up front (not timed)
        where = queries.conditions(h.vault(session), NETWORK, OWNER, queries.Filters())
        for r in queries.export_rows(session, h.vault(session), where, 5000):
            where_rows.append(export.row_values(*r))
    base = _reset_peak()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        count = export.write_file("xlsx", "fr", where_rows, out)
        size = out.tell()
    seconds = time.perf_counter() - started
    result = {"rows": count, "bytes": size, "seconds": round(seconds, 2),
              "rss_before_write_mb": round(base, 1), "rss_peak_mb": round(_rss_mb(), 1)}
    if trace:
        result["python_heap_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    return result


def _child(kind: str, trace: bool = False) -> dict[str, Any]:
    env = {**os.environ, "PSYCOPG_WAIT_FUNC": "wait_select"}
    args = [sys.executable, "-m", "bench.office", "--child", kind] + (["--trace"] if trace else [])
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=True,
                          cwd=Path(__file__).resolve().parents[1])
    return json.loads(done.stdout.strip().splitlines()[-1])


def export_bench() -> dict[str, Any]:
    floor = _child("floor")
    service = _child("service")
    floor["python_heap_peak_mb"] = _child("floor", trace=True)["python_heap_peak_mb"]
    service["python_heap_peak_mb"] = _child("service", trace=True)["python_heap_peak_mb"]
    return {"service": service, "floor": floor,
            "time_vs_floor": round(service["total_seconds"] / floor["seconds"], 2),
            "targets": {"peak_rss_under_mb": 200, "time_vs_floor_at_most": 2.0}}


def run() -> dict[str, Any]:
    results: dict[str, Any] = {"seed": seed()}
    print(json.dumps(results["seed"]), flush=True)
    results["listing"] = listing()
    for r in results["listing"]:
        print(f"  {r['scenario']:<42} p50 {r['p50_ms']:>7} ms   p99 {r['p99_ms']:>7} ms "
              f"({r['page_items']} items)", flush=True)
    results["export"] = export_bench()
    e = results["export"]
    print(f"  export service: {e['service']}\n  export floor:   {e['floor']}\n"
          f"  time vs floor: x{e['time_vs_floor']}", flush=True)
    return results


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        trace = "--trace" in sys.argv
        fn = _child_service if sys.argv[2] == "service" else _child_floor
        print(json.dumps(fn(trace)))
    else:
        print(json.dumps(run(), indent=2, default=str))
