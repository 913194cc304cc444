"""Leads over HTTP and AMQP: take latency with 50 concurrent takers, capture rates.

``run_take_bench(base_url=None)`` and ``run_capture_bench(base_url=None)``: with no URL
each starts its own stack (a fresh ``leads_bench_http`` database and vhost, real ``nameko
run`` leads instance(s), and a gateway process serving the real ``LeadsRoutes`` behind a
stub authenticator, since accounts/plans are not needed to measure leads). With a URL the
caller provides a running platform: ``takers`` (bearer token, plan id) pairs for the take
bench; ``capture_key`` (or env ``BENCH_CAPTURE_KEY``) for the capture bench, whose AMQP
part then needs ``amqp_uri`` (or env ``BENCH_AMQP_URI``).
"""
from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psycopg

from bench.stack import free_port
from leads import testing
from suivi_common.testing import infra

DB = "leads_bench_http"
TAKERS = 50
DURATION = float(os.environ.get("BENCH_SECONDS", "10"))
INSTANCES = int(os.environ.get("BENCH_LEADS_INSTANCES", "1"))
CAPTURE_LEADS = int(os.environ.get("BENCH_CAPTURE_LEADS", "20000"))


# --- a throw-away stack ---------------------------------------------------------------------

class Stack:
    def __init__(self, instances: int = INSTANCES) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="suivi-bench-leads-http-"))
        self.key_file = self.work / "master.key"
        self.vhost = infra.fresh_vhost()
        self.uri = infra.amqp_uri(self.vhost)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.instances = instances
        self.procs: list[testing.LeadsProcess] = []
        self.gateway: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": f"{infra.PG_BASE}/{DB}",
                "AMQP_URI": self.uri, "SUIVI_ENV": "dev", "LOG_LEVEL": "WARNING",
                "SUIVI_MASTER_KEY_FILE": str(self.key_file),
                "SUIVI_PRINCIPAL_KEY_FILE": str(self.work / "principal.key"),
                "SUIVI_DEV_CLOCK_FILE": str(self.work / "no-clock.json"),
                "AUTO_DELIVERY_INTERVAL_SECONDS": "3600", "STOCK_CHECK_INTERVAL_SECONDS": "3600",
                "DAY_CLOSE_INTERVAL_SECONDS": "3600", "ENTITLEMENT_SYNC_RETRY_SECONDS": "3600",
                "MAX_WORKERS": "60", "DB_POOL_SIZE": "30"}

    def start(self) -> Stack:
        from suivi_common.principals import ensure_key_file

        env = self.env()
        ensure_key_file(self.work / "principal.key")  # one key for the gateway and leads
        self.procs = [testing.LeadsProcess(env, self.work / f"leads-{i}.log").start()
                      for i in range(self.instances)]
        cfg = self.work / "gateway.yaml"
        cfg.write_text(json.dumps({
            "AMQP_URI": self.uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.port}",
            "SERVICE_CONTAINER_CLS": "nameko.containers.ServiceContainer",
            "max_workers": 100, "LOGGING": {"version": 1, "root": {"level": "WARNING"}}}))
        log = open(self.work / "gateway.log", "ab")
        self.gateway = subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", str(cfg),
             "bench.leads_gateway:LeadsGateway"], cwd=testing.ROOT, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, **env, "PSYCOPG_WAIT_FUNC": "wait_select"})
        testing.wait_instances(self.vhost, self.instances, self.procs, timeout=60)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/api/staff/stock", timeout=2)
            except urllib.error.HTTPError:
                break  # the gateway answers (401 without a token)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        return self

    def stop(self) -> None:
        for p in self.procs:
            p.stop()
        if self.gateway and self.gateway.poll() is None:
            os.killpg(self.gateway.pid, 15)
            self.gateway.wait()
        infra.delete_vhost(self.vhost)
        with psycopg.connect(f"{infra.PG_PLAIN}/postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')

    def count(self, sql: str) -> int:
        with psycopg.connect(f"{infra.PG_PLAIN}/{DB}") as conn:
            return int(conn.execute(sql).fetchone()[0])


def _empty_db(key_file: Path) -> None:
    from bench.leads_distribution import seed

    seed(DB, key_file, plans=0, leads=0, groups=[("FR", "premium_plus")], quota=(1, 1),
         auto=False)


# --- closed-loop HTTP load with one identity per connection ---------------------------------

def _loop_worker(base: str, jobs: list[tuple[str, str, dict[str, str], bytes | None]],
                 duration: float, out: Any) -> None:
    import threading

    parsed = urlparse(base)
    results: list[tuple[float, int, int]] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + duration

    def loop(method: str, path: str, headers: dict[str, str], body: bytes | None) -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        mine = []
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                leads = len(json.loads(data).get("leads", [])) if resp.status == 200 else 0
                mine.append((time.perf_counter() - start, resp.status, leads))
            except Exception:
                mine.append((time.perf_counter() - start, 599, 0))
                conn.close()
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=loop, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(results)


def closed_loop(base: str, jobs: list[tuple[str, str, dict[str, str], bytes | None]],
                duration: float, processes: int = 2) -> dict[str, Any]:
    queue: Any = mp.Queue()
    parts = [jobs[i::processes] for i in range(processes)]
    procs = [mp.Process(target=_loop_worker, args=(base, part, duration, queue))
             for part in parts if part]
    started = time.perf_counter()
    for p in procs:
        p.start()
    results = [r for _ in procs for r in queue.get()]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    ok = sorted(lat for lat, status, _ in results if status == 200)
    return {
        "requests": len(results), "errors": sum(1 for _, s, _ in results if s != 200),
        "rps": round(len(results) / elapsed, 1),
        "leads": sum(n for _, _, n in results),
        "p50_ms": round(statistics.median(ok) * 1000, 1) if ok else None,
        "p99_ms": round(ok[min(len(ok) - 1, int(len(ok) * 0.99))] * 1000, 1) if ok else None,
    }


# --- take latency ---------------------------------------------------------------------------

def run_take_bench(base_url: str | None = None,
                   takers: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """p50/p99 of ``POST /api/plans/{id}/take {max: 5}`` with 50 concurrent takers, each on
    its own plan (same country x tier: they all compete for one stock group)."""
    stack = None
    if base_url is None:
        from bench.leads_distribution import seed

        stack = Stack()
        seed(DB, stack.key_file, plans=TAKERS, leads=60_000, groups=[("FR", "premium_plus")],
             quota=(1000, 1000), auto=False, offices=True)
        stack.start()
        base_url = stack.url
        takers = [(f"user:user-{i:05d}:net-{i % 50:02d}", f"plan-{i:05d}")
                  for i in range(TAKERS)]
    elif not takers:
        raise ValueError("with a base_url, pass takers=[(bearer token, plan id), ...]")
    try:
        jobs = [("POST", f"/api/plans/{plan}/take",
                 {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                 json.dumps({"max": 5}).encode()) for token, plan in takers]
        closed_loop(base_url, jobs, duration=2)  # warm-up
        figures = closed_loop(base_url, jobs, duration=DURATION)
        if stack:
            figures["double_sold"] = stack.count(
                "SELECT count(*) - count(DISTINCT lead_id) FROM deliveries")
            figures["over_quota"] = stack.count("""
                SELECT count(*) FROM (SELECT plan_id FROM deliveries GROUP BY plan_id, day
                                      HAVING count(*) > 1000) x""")
    finally:
        if stack:
            stack.stop()
    figures.update(takers=len(takers), leads_per_take=5, instances=INSTANCES if stack else None)
    print(f"take: {figures['takers']} concurrent takers, {figures['requests']} takes "
          f"({figures['rps']}/s, {figures['leads']} leads, {figures['errors']} errors): "
          f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms")
    return figures


# --- capture rate ---------------------------------------------------------------------------

def _capture_http(base_url: str, key: str, total: int, start: int,
                  concurrency: int = 4) -> dict[str, Any]:
    batches = [[testing.raw_lead(start + b * 1000 + i) for i in range(1000)]
               for b in range(total // 1000)]
    from concurrent.futures import ThreadPoolExecutor

    parsed = urlparse(base_url)

    def post(batch: list[dict[str, Any]]) -> int:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=300)
        conn.request("POST", "/api/capture/leads", body=json.dumps({"leads": batch}),
                     headers={"X-Capture-Key": key, "Content-Type": "application/json"})
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        return sum(1 for r in body.get("results", []) if r["status"] == "accepted")

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        accepted = sum(pool.map(post, batches))
    elapsed = time.perf_counter() - started
    return {"leads": total, "accepted": accepted, "seconds": round(elapsed, 2),
            "leads_per_s": round(accepted / elapsed), "batch": 1000, "concurrency": concurrency}


def _capture_amqp(amqp_uri: str, key: str, total: int, start: int,
                  stored: Any) -> dict[str, Any]:
    from leads.capture_client import CaptureClient

    items = [testing.raw_lead(start + i) for i in range(total)]
    before = stored()
    started = time.perf_counter()
    with CaptureClient(amqp_uri, key) as client:
        client.send(items, batch_size=100)
    published = time.perf_counter() - started
    deadline = time.monotonic() + 300
    while stored() < before + total:
        if time.monotonic() > deadline:
            raise RuntimeError("AMQP capture did not finish")
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    return {"leads": total, "seconds": round(elapsed, 2), "publish_seconds": round(published, 2),
            "leads_per_s": round(total / elapsed), "batch": 100}


def run_capture_bench(base_url: str | None = None, capture_key: str | None = None,
                      amqp_uri: str | None = None) -> dict[str, Any]:
    """Capture throughput over HTTP (batches of 1,000, 4 senders) and over AMQP (batches of
    100 with publisher confirms, measured until every lead is stored)."""
    stack = None
    stored: Any = None
    if base_url is None:
        stack = Stack()
        _empty_db(stack.key_file)
        stack.start()
        base_url = stack.url
        with urllib.request.urlopen(urllib.request.Request(
                base_url + "/api/staff/capture-sites", method="POST",
                data=json.dumps({"name": "bench", "url": "https://bench.example"}).encode(),
                headers={"Authorization": "Bearer staff:staff-1:",
                         "Content-Type": "application/json"})) as resp:
            capture_key = json.loads(resp.read())["key"]
        amqp_uri = stack.uri
        stored = lambda: stack.count("SELECT count(*) FROM leads")  # noqa: E731
    capture_key = capture_key or os.environ.get("BENCH_CAPTURE_KEY")
    amqp_uri = amqp_uri or os.environ.get("BENCH_AMQP_URI")
    if not capture_key:
        raise ValueError("with a base_url, pass capture_key (or set BENCH_CAPTURE_KEY)")
    try:
        figures: dict[str, Any] = {"instances": INSTANCES if stack else None}
        _capture_http(base_url, capture_key, 2000, 9_000_000)  # warm-up
        figures["http"] = _capture_http(base_url, capture_key, CAPTURE_LEADS, 0)
        if amqp_uri and stored is not None:
            figures["amqp"] = _capture_amqp(amqp_uri, capture_key, CAPTURE_LEADS, 1_000_000,
                                            stored)
    finally:
        if stack:
            stack.stop()
    h = figures["http"]
    print(f"capture over HTTP: {h['accepted']} leads in {h['seconds']} s = {h['leads_per_s']} "
          f"leads/s (batches of 1000, {h['concurrency']} senders)")
    if "amqp" in figures:
        a = figures["amqp"]
        print(f"capture over AMQP: {a['leads']} leads stored in {a['seconds']} s = "
              f"{a['leads_per_s']} leads/s (batches of 100, publisher confirms)")
    return figures


def run() -> dict[str, Any]:
    return {"take": run_take_bench(), "capture": run_capture_bench()}


if __name__ == "__main__":
    run()
