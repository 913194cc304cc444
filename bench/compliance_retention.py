"""The retention sweep (issue 12 §7): 1,000,000 office leads, 10 % of them due, swept by
the leads service, against one set-based SQL ``DELETE`` of the same rows in the same run.

``python -m bench compliance_retention``; ``BENCH_RETENTION_LEADS`` (1,000,000, a multiple
of 10,000) sets the size, ``BENCH_RESEED=1`` rebuilds the seed database.

1. **Seed once** (``leads_retention_seed`` + the test suffix, kept between runs while its
   size matches): the leads migrations, then ``N / 1,000`` owners of 1,000 office leads
   each, spread over 10 networks. 80 % of the leads are purchased: an office row, its
   captured copy (``leads``, re-keyed to the owner's network) and its ``deliveries`` row;
   20 % are personal. The due rows' personal columns are encrypted as the use cases do
   it (``office_testing.bulk_rows``: record, initial record, wrapped lead key, five blind
   indexes; ``Vault.encrypt`` for the captured copy); the other rows carry bytes of the
   same sizes and the same index distributions (``Filler``; ``BENCH_RETENTION_SEAL_ALL=1``
   seals them too, about 20 minutes more here). Written with COPY. Offices, on the
   platform clock (real time here): owners ``k % 10 == 0`` ended 7 months ago (**due**:
   exactly 10 %), ``k % 10 == 5`` ended 5 months ago (not due yet), ``k % 10 == 7`` ended
   7 months ago and came back (open again), the rest open.
2. **The service**: a copy of the seed (``CREATE DATABASE … TEMPLATE``), a real
   ``nameko run`` of leads on it (its timers pushed out of the way), and the RPC the
   retention timer calls, ``leads.retention_sweep`` (``@rpc_internal``, called as leads
   itself): exactly what the hourly ``retention_tick`` runs, batches of
   ``RETENTION_BATCH`` (1,000) in their own transactions, events through the outbox and
   the relay. Timed from the call to its answer. CPU of the leads process and of its
   PostgreSQL backends is taken from ``/proc``; an audit queue bound to ``leads.events``
   counts the ``office_leads_erased`` events.
3. **The floor**: another copy, and one statement that deletes the due office rows and,
   in the same statement (a writable CTE), their captured copies. It keeps no tombstone,
   writes no history, no event, and takes one snapshot for everything.
4. **Verified in both copies**: the service left exactly the due rows without personal
   data (record, initial record, lead key, blind indexes, captured ``pii``; marked erased
   for ``retention``: rows are tombstones, never deleted, by design) and every other row
   untouched; the floor left exactly the other rows.

Rates are due office leads per second; the ratio is service / floor (target ≥ 0.3).
"""
from __future__ import annotations

import json
import os
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from kombu import Connection, Queue
from nameko.standalone.events import get_event_exchange
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from bench.compliance_common import (
    SUFFIX,
    CpuMeter,
    backend_pids,
    clone,
    drop,
    exists,
    load,
    plain,
    rate,
    scalar,
    show,
    url,
)
from leads import office_testing as testing
from leads.domain.office_records import BIDX_KINDS, norm_city, norm_postal_code
from leads.models import office_leads
from leads.testing import LeadsProcess, wait_instances
from suivi_common import clock, principals
from suivi_common.months import add_months
from suivi_common.rpc import RpcClient
from suivi_common.testing import infra

LEADS = int(os.environ.get("BENCH_RETENTION_LEADS", "1000000"))
#: seal every row for real (slow); by default only the due rows are (``Filler``)
SEAL_ALL = os.environ.get("BENCH_RETENTION_SEAL_ALL", "0") == "1"
PER_OWNER = 1000
NETWORKS = 10
SEED_DB = f"leads_retention_seed{SUFFIX}"
SERVICE_DB = f"leads_retention_svc{SUFFIX}"
FLOOR_DB = f"leads_retention_floor{SUFFIX}"
OFFICE_COLUMNS = [c.name for c in office_leads.columns]
STATUSES = ("new", "contacted", "meeting", "client", "distributor", "not_interested")
CHUNK = 10_000


def owner_id(k: int) -> str:
    return f"owner-{k:05d}"


def network_of(k: int) -> str:
    return f"net-{k % NETWORKS}"


def is_due(k: int) -> bool:
    return k % 10 == 0


class Filler:
    """Rows not due, built without sealing: every sealed column holds random bytes of the
    length a real sealing of the same record gives (one real row per owner measures them),
    e-mail and phone indexes are random 32-byte digests (unique per person, as real ones
    are), and the postal code and city indexes are the real blind indexes (few distinct
    values, as in real offices). Why: neither the sweep nor the floor reads a sealed
    value; they see only row and index sizes and key distributions, which these keep,
    and sealing 900,000 rows would take most of the seed's time."""

    def __init__(self) -> None:
        self.shared: dict[tuple[str, str, str], bytes | None] = {}

    def rows(self, vault: Any, owner: str, network: str, items: list[tuple[Any, ...]]
             ) -> tuple[list[dict[str, Any]], list[tuple[Any, bytes | None, Any]]]:
        model = testing.bulk_rows(vault, owner_id=owner, network_id=network, items=items[:1])[0]
        pii_len = len(vault.encrypt(network, "leads", "pii", model["id"],
                                    json.dumps(items[0][0])))
        rows: list[dict[str, Any]] = []
        captured: list[tuple[Any, bytes | None, Any]] = []
        for data, origin, status, created_at, plan_id in items:
            lead_id = uuid.uuid4()
            purchased = origin == "purchased"
            row = {**model, "id": lead_id, "origin": origin, "plan_id": plan_id,
                   "plan_country": data.get("country") if purchased else None,
                   "status": status, "created_at": created_at,
                   "delivered_at": created_at if purchased else None,
                   "updated_at": created_at}
            for column in ("data", "initial_data", "lead_key", "email_bidx", "mobile_bidx"):
                row[column] = os.urandom(len(model[column]))
            for column, value in (("postal_bidx", norm_postal_code(data["postal_code"])),
                                  ("city_bidx", norm_city(data["city"]))):
                kind = BIDX_KINDS[column]
                key = (network, kind, value)
                if key not in self.shared:
                    self.shared[key] = vault.blind_index(network, kind, value)
                row[column] = self.shared[key]
            rows.append(row)
            if purchased:
                captured.append((lead_id, os.urandom(pii_len), created_at))
        return rows, captured


def _stored(n: int, rng: random.Random) -> dict[str, Any]:
    """An office record as ``leads.domain.capture`` stores one (as bench/office.py)."""
    city = f"Ville{n % 50:02d}"
    return {"first_name": rng.choice(("Jean", "Marie", "Luc", "Anne", "Paul", "Julie")),
            "last_name": f"Nom{n}", "email": f"lead{n}@example{n % 50}.fr", "landline": None,
            "mobile": {"e164": f"+3367{n % 10_000_000:07d}", "valid": True,
                       "line_type": "mobile", "region": "FR"},
            "call_window": "18h-20h", "postal_code": f"{(n % 95) + 1:02d}{n % 1000:03d}",
            "city": city, "country": "FR", "professional_situation": None,
            "time_available": "10h", "birth_date": None, "income_goal": "1000",
            "source_url": "https://form.example.fr", "consent_at": "2025-01-01T10:00:00+00:00",
            "capture_ip": None}


def _offices(owners: int) -> Iterator[tuple[Any, ...]]:
    """(user_id, active, subscription_id, source, updated_at, ended_at) per owner."""
    today = clock.today()
    seven = clock.paris_midnight(add_months(today, -7)) + timedelta(hours=10)
    five = clock.paris_midnight(add_months(today, -5)) + timedelta(hours=10)
    for k in range(owners):
        if is_due(k):
            yield owner_id(k), False, f"sub-{k}", "event", seven, seven
        elif k % 10 == 5:
            yield owner_id(k), False, f"sub-{k}", "event", five, five
        elif k % 10 == 7:  # ended 7 months ago, subscribed again since: open
            yield owner_id(k), True, f"sub-{k}b", "event", five, None
        else:
            yield owner_id(k), True, f"sub-{k}", "event", seven, None


def seed() -> dict[str, Any]:
    """The seed database (see the module); kept while its size matches."""
    if LEADS % (10 * PER_OWNER):
        raise ValueError("BENCH_RETENTION_LEADS must be a multiple of 10,000")
    owners = LEADS // PER_OWNER
    if exists(SEED_DB) and not os.environ.get("BENCH_RESEED"):
        with psycopg.connect(plain(SEED_DB)) as conn:
            meta = conn.execute("SELECT to_regclass('bench_meta')").fetchone()
            if meta and meta[0]:
                row = conn.execute("SELECT value FROM bench_meta WHERE key = 'seed'").fetchone()
                seed_info = json.loads(row[0]) if row else {}
                if seed_info.get("office_leads") == LEADS and \
                        seed_info.get("sealed_all") == SEAL_ALL:
                    return {**seed_info, "reused": True}
    drop(SEED_DB)
    engine = testing.migrated_database(url(SEED_DB), fresh=True)
    h = testing.Harness(engine)
    rng = random.Random(12)
    now = clock.now()
    started = time.perf_counter()
    crypto_s = 0.0
    purchased_n = 0
    filler = Filler()
    with h.session() as session, psycopg.connect(plain(SEED_DB)) as conn:
        vault = h.vault(session)
        conn.execute("INSERT INTO capture_sites (id, name, url, key_hash, key_prefix) VALUES "
                     "(%s, 'Form', 'https://form.example.fr', %s, 'lck_bench')",
                     (testing.SITE_ID, "0" * 64))
        with conn.cursor().copy("COPY offices (user_id, active, subscription_id, source, "
                                "updated_at, ended_at) FROM STDIN") as copy:
            for row in _offices(owners):
                copy.write_row(row)
        conn.commit()
        indexes = _drop_indexes(conn)
        n = 0
        for k in range(owners):
            owner, network = owner_id(k), network_of(k)
            for start in range(0, PER_OWNER, CHUNK):
                items = []
                for _ in range(min(CHUNK, PER_OWNER - start)):
                    personal = rng.random() < 0.2
                    created = now - timedelta(seconds=rng.randint(200 * 86400, 400 * 86400))
                    items.append((_stored(n, rng), "personal" if personal else "purchased",
                                  rng.choice(STATUSES), created,
                                  None if personal else f"plan-{k}"))
                    n += 1
                t = time.perf_counter()
                if SEAL_ALL or is_due(k):
                    rows = testing.bulk_rows(vault, owner_id=owner, network_id=network,
                                             items=items)
                    captured = [(r["id"], vault.encrypt(network, "leads", "pii", r["id"],
                                                        json.dumps(data)), r["created_at"])
                                for r, (data, origin, *_rest) in zip(rows, items, strict=True)
                                if origin == "purchased"]
                else:
                    rows, captured = filler.rows(vault, owner, network, items)
                crypto_s += time.perf_counter() - t
                purchased_n += len(captured)
                _copy(conn, rows, captured, owner, network)
            if k % 50 == 49:
                conn.commit()
                print(f"    seeded {n:,} office leads ({time.perf_counter() - started:.0f} s)",
                      flush=True)
        conn.commit()
        session.commit()
    with psycopg.connect(plain(SEED_DB), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for definition in indexes:
            conn.execute(definition)
        conn.execute("VACUUM ANALYZE")
        info = {"office_leads": LEADS, "owners": owners, "purchased": purchased_n,
                "sealed_all": SEAL_ALL,
                "due_owners": sum(1 for k in range(owners) if is_due(k)),
                "due": sum(PER_OWNER for k in range(owners) if is_due(k)),
                "seed_seconds": round(time.perf_counter() - started, 1),
                "crypto_seconds": round(crypto_s, 1),
                "database_mb": round(scalar(
                    conn, "SELECT pg_database_size(current_database())") / 2**20)}
        conn.execute("CREATE TABLE bench_meta (key text PRIMARY KEY, value text)")
        conn.execute("INSERT INTO bench_meta VALUES ('seed', %s)", (json.dumps(info),))
    engine.dispose()
    return {**info, "reused": False}


BULK_TABLES = ("office_leads", "leads", "deliveries")


def _drop_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    """Drop the secondary indexes of the bulk-loaded tables (the migrations' own
    definitions are returned, to be built again once the rows are in): one sort per index
    instead of a million random insertions each."""
    rows = conn.execute("""
        SELECT indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename = ANY(%s)
          AND indexname NOT IN (SELECT conname FROM pg_constraint)""",
                        (list(BULK_TABLES),)).fetchall()
    for name, _definition in rows:
        conn.execute(f'DROP INDEX "{name}"')
    conn.commit()
    return [definition for _name, definition in rows]


def _copy(conn: psycopg.Connection[Any], rows: list[dict[str, Any]],
          captured: list[tuple[Any, bytes | None, Any]], owner: str, network: str) -> None:
    with conn.cursor().copy(f"COPY office_leads ({', '.join(OFFICE_COLUMNS)}) "
                            "FROM STDIN") as copy:
        for r in rows:
            copy.write_row([r.get(c) for c in OFFICE_COLUMNS])
    with conn.cursor().copy("COPY leads (id, capture_site_id, status, country, tier, "
                            "captured_at, key_scope, pii) FROM STDIN") as copy:
        for lead_id, pii, at in captured:
            copy.write_row((lead_id, testing.SITE_ID, "accepted", "FR", "premium", at,
                            network, pii))
    with conn.cursor().copy("COPY deliveries (lead_id, plan_id, user_id, network_id, day, "
                            "delivered_at, via, rekeyed_at) FROM STDIN") as copy:
        for lead_id, _pii, at in captured:
            copy.write_row((lead_id, f"plan-{owner}", owner, network, at.date(), at, "auto",
                            at))


# --- the two runs -----------------------------------------------------------------------------

def _checkpoint(db: str) -> None:
    """Start each timed part with no dirty pages of the other one to write."""
    with psycopg.connect(plain(db), autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def _sampler(db: str, stop: threading.Event, out: list[tuple[float, int]]) -> None:
    """Office rows updated so far (``pg_stat``, cheap), every 2 s: the sweep's pace."""
    started = time.monotonic()
    with psycopg.connect(plain(db), autocommit=True) as conn:
        while not stop.wait(2.0):
            n = conn.execute("SELECT n_tup_upd FROM pg_stat_user_tables "
                             "WHERE relname = 'office_leads'").fetchone()
            out.append((round(time.monotonic() - started, 1), int(n[0]) if n else 0))


def run_service(due: int, work: Path) -> dict[str, Any]:
    clone(SEED_DB, SERVICE_DB)
    vhost = infra.fresh_vhost()
    uri = infra.amqp_uri(vhost)
    key_file = work / "principal.key"
    key = principals.ensure_key_file(key_file)
    env = {"DATABASE_URL": url(SERVICE_DB), "AMQP_URI": uri, "SUIVI_ENV": "dev",
           "LOG_LEVEL": "WARNING", "SUIVI_MASTER_KEY": testing.TEST_MASTER_KEY_B64,
           "SUIVI_PRINCIPAL_KEY_FILE": str(key_file),
           "SUIVI_DEV_CLOCK_FILE": str(work / "no-clock.json"),
           "RETENTION_SWEEP_INTERVAL_SECONDS": "86400",
           "AUTO_DELIVERY_INTERVAL_SECONDS": "3600", "STOCK_CHECK_INTERVAL_SECONDS": "3600",
           "DAY_CLOSE_INTERVAL_SECONDS": "3600", "REKEY_INTERVAL_SECONDS": "3600",
           "ENTITLEMENT_SYNC_RETRY_SECONDS": "3600"}
    proc = LeadsProcess(env, work / "leads.log").start()
    audit = Queue(f"bench-audit-{uuid.uuid4().hex[:8]}", get_event_exchange("leads"),
                  routing_key="office_leads_erased", durable=False, auto_delete=False)
    try:
        wait_instances(vhost, 1, [proc], timeout=90)
        with Connection(uri) as amqp:
            audit(amqp.default_channel).declare()
        with RpcClient(uri, service="leads", key=key, timeout=7200) as rpc:
            rpc.leads.health()  # a pooled connection and a warm worker before the clock
            _checkpoint(SERVICE_DB)
            assert proc.proc is not None
            meter = CpuMeter({"leads": lambda: [proc.proc.pid] if proc.proc else [],
                              "postgres": lambda: backend_pids(SERVICE_DB)}).start()
            stop, pace = threading.Event(), []  # type: ignore[var-annotated]
            sampler = threading.Thread(target=_sampler, args=(SERVICE_DB, stop, pace),
                                       daemon=True)
            load_before = load()
            sampler.start()
            started = time.perf_counter()
            answer = rpc.leads.retention_sweep()
            seconds = time.perf_counter() - started
            stop.set()
            cpu = meter.stop()
            load_after = load()
        events = _drain_audit(uri, audit, SERVICE_DB)
    finally:
        proc.stop()
        infra.delete_vhost(vhost)
    return {"answer": answer, "seconds": round(seconds, 2),
            "rows_per_s": rate(int(answer["office_leads"]), seconds),
            "cpu_seconds": cpu,
            "cpu_ms_per_row": {k: round(v * 1000 / max(due, 1), 3) for k, v in cpu.items()},
            "pace_updates_per_2s": _pace(pace), "events": events,
            "load_1min": [load_before, load_after]}


def _pace(samples: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """Office rows updated in each 2 s interval: whether later batches cost more than the
    first ones."""
    out, last = [], 0
    for t, n in samples:
        out.append((t, n - last))
        last = n
    return out


def _drain_audit(uri: str, queue: Queue, db: str) -> dict[str, int]:
    """Wait for the relay to empty the outbox, then count the erasure events' lead ids."""
    deadline = time.monotonic() + 120
    with psycopg.connect(plain(db), autocommit=True) as conn:
        while scalar(conn, "SELECT count(*) FROM outbox"):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
    events, ids, unique = 0, 0, set()
    with Connection(uri) as amqp:
        bound = queue(amqp.default_channel)
        while True:
            message = bound.get(no_ack=True)
            if message is None:
                break
            payload = message.payload if isinstance(message.payload, dict) else json.loads(
                message.body)
            events += 1
            ids += len(payload["lead_ids"])
            unique.update(payload["lead_ids"])
        bound.delete()
    return {"office_leads_erased": events, "lead_ids": ids, "unique_lead_ids": len(unique)}


FLOOR_SQL = """
WITH due AS (
    SELECT l.id FROM office_leads l JOIN offices o ON o.user_id = l.owner_id
    WHERE NOT o.active AND o.ended_at < %(ended_before)s
), captured AS (
    DELETE FROM leads c USING due WHERE c.id = due.id
)
DELETE FROM office_leads l USING due WHERE l.id = due.id
"""


def explain_first_batch(db: str, ended_before: Any) -> dict[str, Any]:
    """The plans and times of the sweep's first batch (the pick, then the wipe), with
    ``EXPLAIN ANALYZE`` in a transaction rolled back: where one batch's time goes. Run on
    the floor's copy before the floor, so any cache it warms helps the floor, not the
    service."""
    from sqlalchemy.dialects import postgresql

    from leads.usecases import retention
    from leads.usecases.office import wiping

    T = office_leads
    batch = retention.TUNABLES.get_int("RETENTION_BATCH")
    out: dict[str, Any] = {}
    engine = create_engine(url(db))
    with Session(engine) as session:
        # the sweep's pick: the first due owner's rows in id order (``office_batch``)
        owner = session.execute(retention.due_holders(ended_before, 1)).scalar()
        pick = (select(T.c.id).where(T.c.owner_id == owner, wiping.HOLDS).order_by(T.c.id)
                .limit(batch).with_for_update(skip_locked=True))
        sql = str(pick.compile(dialect=postgresql.dialect(),
                               compile_kwargs={"literal_binds": True}))
        session.execute(text("SET jit = off"))
        plan = list(session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")).scalars())
        out["pick"] = [line for line in plan if "Execution Time" in line or "->" in line
                       or "Limit" in line][:12]
        ids = list(session.execute(text(sql)).scalars())
        started = time.perf_counter()
        session.execute(wiping._WIPE, {"ids": ids, "now": clock.now(), "erase": True,
                                       "reason": "retention", "actor": "leads",
                                       "source": "system", "via": "retention"}).all()
        out["wipe_ms"] = round((time.perf_counter() - started) * 1000, 1)
        out["batch"] = len(ids)
        session.rollback()
    engine.dispose()
    return out


def run_floor() -> dict[str, Any]:
    from leads.usecases import retention

    clone(SEED_DB, FLOOR_DB)
    ended_before, _ = retention.cutoffs(clock.today())
    explained = explain_first_batch(FLOOR_DB, ended_before)
    _checkpoint(FLOOR_DB)
    with psycopg.connect(plain(FLOOR_DB)) as conn:
        conn.execute("SET jit = off")  # as the services do: JIT only adds compile time here
        meter = CpuMeter({"postgres": lambda: backend_pids(FLOOR_DB)}).start()
        load_before = load()
        started = time.perf_counter()
        deleted = conn.execute(FLOOR_SQL, {"ended_before": ended_before}).rowcount
        conn.commit()
        seconds = time.perf_counter() - started
        cpu = meter.stop()
    return {"deleted": deleted, "seconds": round(seconds, 2), "rows_per_s": rate(deleted, seconds),
            "cpu_seconds": cpu, "load_1min": [load_before, load()],
            "service_first_batch_explained": explained}


# --- verification -------------------------------------------------------------------------------

DUE_OWNERS = "(SELECT user_id FROM offices WHERE NOT active AND ended_at < %(before)s)"
DUE_ROWS = "SELECT count(*) FROM office_leads WHERE owner_id IN DUE"
OTHER_ROWS = "SELECT count(*) FROM office_leads WHERE owner_id NOT IN DUE"


def _counts(db: str, before: Any, queries: dict[str, str]) -> dict[str, int]:
    """Each of ``queries`` counted in ``db`` (``DUE``: the owners whose offices are due)."""
    with psycopg.connect(plain(db)) as conn:
        return {name: int(scalar(conn, sql.replace("DUE", DUE_OWNERS), {"before": before}))
                for name, sql in queries.items()}


def verify_service(before: Any) -> dict[str, int]:
    return _counts(SERVICE_DB, before, {
        "due_rows": DUE_ROWS,
        "due_wiped": """SELECT count(*) FROM office_leads WHERE owner_id IN DUE
            AND data IS NULL AND initial_data IS NULL AND lead_key IS NULL
            AND email_bidx IS NULL AND mobile_bidx IS NULL AND landline_bidx IS NULL
            AND postal_bidx IS NULL AND city_bidx IS NULL AND deleted_at IS NOT NULL
            AND erased_at IS NOT NULL AND erased_reason = 'retention'""",
        "due_captured_left": """SELECT count(*) FROM leads c JOIN office_leads l
            ON l.id = c.id WHERE l.owner_id IN DUE AND (c.pii IS NOT NULL
            OR c.erased_at IS NULL)""",
        "other_rows": OTHER_ROWS,
        "other_intact": """SELECT count(*) FROM office_leads WHERE owner_id NOT IN DUE
            AND data IS NOT NULL AND initial_data IS NOT NULL AND lead_key IS NOT NULL
            AND deleted_at IS NULL AND erased_at IS NULL""",
        "other_captured": """SELECT count(*) FROM leads c JOIN office_leads l
            ON l.id = c.id WHERE l.owner_id NOT IN DUE AND c.pii IS NOT NULL
            AND c.erased_at IS NULL""",
        "history_entries": "SELECT count(*) FROM office_history WHERE via = 'retention'",
    })


def verify_floor(before: Any) -> dict[str, int]:
    return _counts(FLOOR_DB, before, {
        "due_rows": DUE_ROWS,
        "due_captured_left": """SELECT count(*) FROM leads c JOIN deliveries d
            ON d.lead_id = c.id WHERE d.user_id IN DUE""",
        "other_rows": OTHER_ROWS,
        "other_captured": """SELECT count(*) FROM leads c JOIN deliveries d
            ON d.lead_id = c.id WHERE d.user_id NOT IN DUE""",
    })


def _expected(seeded: dict[str, Any]) -> dict[str, int]:
    """From the seed: how many office rows and captured copies are due and not."""
    with psycopg.connect(plain(SEED_DB)) as conn:
        from leads.usecases import retention

        before, _ = retention.cutoffs(clock.today())
        row = conn.execute(f"""
            SELECT count(*) FILTER (WHERE d.user_id IN {DUE_OWNERS}),
                   count(*) FILTER (WHERE d.user_id NOT IN {DUE_OWNERS})
            FROM deliveries d""", {"before": before}).fetchone() or (0, 0)
    return {"due": seeded["due"], "other": seeded["office_leads"] - seeded["due"],
            "due_captured": int(row[0]), "other_captured": int(row[1])}


def run() -> dict[str, Any]:
    from leads.usecases import retention

    work = Path(tempfile.mkdtemp(prefix="suivi-bench-retention-"))
    print(f"  seeding {LEADS:,} office leads (once; kept in {SEED_DB})", flush=True)
    seeded = seed()
    expected = _expected(seeded)
    before, _ = retention.cutoffs(clock.today())
    floor = run_floor()
    floor["verified"] = checks_floor = verify_floor(before)
    drop(FLOOR_DB)
    service = run_service(expected["due"], work)
    service["verified"] = checks = verify_service(before)
    drop(SERVICE_DB)
    e = expected
    floor_ok = checks_floor == {"due_rows": 0, "due_captured_left": 0, "other_rows": e["other"],
                                "other_captured": e["other_captured"]}
    service_ok = (checks["due_rows"] == checks["due_wiped"] == e["due"]
                  and checks["due_captured_left"] == 0 and service["answer"]["office_leads"]
                  == e["due"] and checks["other_rows"] == checks["other_intact"] == e["other"]
                  and checks["other_captured"] == e["other_captured"]
                  and service["events"]["unique_lead_ids"] == e["due"])
    figures = {"seed": seeded, "expected": expected, "floor": floor, "service": service,
               "ratio": round(service["rows_per_s"] / floor["rows_per_s"], 3)
               if floor["rows_per_s"] else None,
               "exactly_the_due_rows": {"service": service_ok, "floor": floor_ok},
               "target_ratio_at_least": 0.3}
    print(f"  retention: {e['due']:,} due of {seeded['office_leads']:,} office leads; "
          f"service {service['rows_per_s']:,} rows/s ({service['seconds']} s), floor "
          f"{floor['rows_per_s']:,} rows/s ({floor['seconds']} s): ratio {figures['ratio']} "
          f"(target >= 0.3); exactly the due rows: service {service_ok}, floor {floor_ok}; "
          f"load {service['load_1min']} / {floor['load_1min']}", flush=True)
    show("compliance_retention", figures)
    return figures


if __name__ == "__main__":
    run()
