"""Issue 2: authenticated ``GET /api/me`` at 16 connections vs. a bare @http → RPC echo."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from bench import load
from bench.stack import drop_vhost, free_port, fresh_platform
from tools.api_client import Api, Mailbox, onboard
from tools.platform import AMQP_BASE, DEV_STAFF, ROOT, _ensure_vhost

CONCURRENCY = 16
EXTRA: dict[str, str] = {}
DURATION = float(os.environ.get("BENCH_SECONDS", "10"))


def echo_baseline() -> dict[str, float]:
    vhost = f"suivi-bench-echo-{os.getpid()}"
    _ensure_vhost(vhost)
    port = free_port()
    cfg = Path(tempfile.mkdtemp()) / "echo.yaml"
    cfg.write_text(yaml.safe_dump({"AMQP_URI": f"{AMQP_BASE}/{vhost}",
                                   "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
                                   "max_workers": 64}))
    proc = subprocess.Popen([sys.executable, "-m", "nameko", "run", "--config", str(cfg),
                             "bench.echo_service:Echo", "bench.echo_service:EchoGateway"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/echo"
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        load.run(url, concurrency=CONCURRENCY, duration=2)  # warm-up
        return load.run(url, concurrency=CONCURRENCY, duration=DURATION)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        drop_vhost(vhost)


def me_throughput() -> dict[str, Any]:
    platform = fresh_platform("_bench_me", services=("accounts", "mailer"), **EXTRA)
    platform.start()
    try:
        staff = Api(platform.url).login(*DEV_STAFF)
        staff.post("/api/networks", {"name": "Bench", "admin": {
            "email": "bench-admin@example.org", "first_name": "Bench", "last_name": "Admin"}})
        admin = onboard(platform.url, Mailbox(platform.var_dir / "mail"),
                        "bench-admin@example.org", "Violet-Tractor-Mango-2026")
        headers = {"Authorization": f"Bearer {admin.token}"}
        load.run(platform.url + "/api/me", concurrency=CONCURRENCY, duration=2, headers=headers)
        return load.run(platform.url + "/api/me", concurrency=CONCURRENCY, duration=DURATION,
                        headers=headers)
    finally:
        platform.stop()
        drop_vhost(platform.vhost)


def run() -> dict[str, Any]:
    echo = echo_baseline()
    me = me_throughput()
    result = {"echo": echo, "me": me, "ratio": me["rps"] / echo["rps"] if echo["rps"] else 0.0}
    print(f"[me] bare echo: {echo['rps']:.0f} req/s p50 {echo['p50_ms']:.1f} ms "
          f"p99 {echo['p99_ms']:.1f} ms")
    print(f"[me] GET /api/me: {me['rps']:.0f} req/s p50 {me['p50_ms']:.1f} ms "
          f"p99 {me['p99_ms']:.1f} ms errors {me['errors']}")
    print(f"[me] ratio vs echo: {result['ratio']:.2f} (target >= 0.6, p99 < 50 ms)")
    return result
