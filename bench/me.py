"""Issue 2: authenticated ``GET /api/me`` at 16 connections vs. a bare @http → RPC echo.

The machine's speed drifts (shared 2 vCPU), so the targets and their baselines are
measured in alternating rounds while all of them run, and each ratio is the median of
the per-round ratios."""
from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from bench import load
from bench.stack import drop_vhost, free_port, fresh_platform
from tools.api_client import Api, Mailbox, onboard
from tools.platform import AMQP_BASE, DEV_STAFF, ROOT, _ensure_vhost

CONCURRENCY = 16
EXTRA: dict[str, str] = {}
DURATION = float(os.environ.get("BENCH_SECONDS", "6"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


@contextmanager
def echo_process(gateway: str, path: str) -> Iterator[str]:
    """The echo service and one echo gateway in one ``nameko run``; yields the URL.

    One gateway a process: two ``@http`` containers in one process would share a port
    and each answer 404 for the other's route."""
    vhost = f"suivi-bench-{gateway.lower()}-{os.getpid()}"
    _ensure_vhost(vhost)
    port = free_port()
    cfg = Path(tempfile.mkdtemp()) / "echo.yaml"
    cfg.write_text(yaml.safe_dump({"AMQP_URI": f"{AMQP_BASE}/{vhost}",
                                   "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
                                   "max_workers": 64}))
    proc = subprocess.Popen([sys.executable, "-m", "nameko", "run", "--config", str(cfg),
                             "bench.echo_service:Echo", f"bench.echo_service:{gateway}"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}{path}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        drop_vhost(vhost)


@contextmanager
def me_platform() -> Iterator[tuple[str, dict[str, str]]]:
    """Gateway + accounts (+ mailer for the onboarding mail); yields the URL and headers."""
    platform = fresh_platform("_bench_me", services=("accounts", "mailer"), **EXTRA)
    platform.start()
    try:
        staff = Api(platform.url).login(*DEV_STAFF)
        staff.post("/api/networks", {"name": "Bench", "admin": {
            "email": "bench-admin@example.org", "first_name": "Bench", "last_name": "Admin"}})
        admin = onboard(platform.url, Mailbox(platform.var_dir / "mail"),
                        "bench-admin@example.org", "Violet-Tractor-Mango-2026")
        yield platform.url + "/api/me", {"Authorization": f"Bearer {admin.token}"}
    finally:
        platform.stop()
        drop_vhost(platform.vhost)
        platform.drop_capture_user()


def _median_of(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in rounds)
            for key in ("rps", "p50_ms", "p99_ms", "errors")}


def run() -> dict[str, Any]:
    with echo_process("EchoGateway", "/echo") as echo_url, \
            echo_process("SuiviEchoGateway", "/suivi-echo") as suivi_echo_url, \
            me_platform() as (me_url, headers):
        targets = {"echo": (echo_url, {}), "suivi_echo": (suivi_echo_url, {}),
                   "me": (me_url, headers)}
        for url, hdrs in targets.values():  # warm-up
            load.run(url, concurrency=CONCURRENCY, duration=2, headers=hdrs)
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for _ in range(ROUNDS):
            for name, (url, hdrs) in targets.items():
                rounds[name].append(load.run(url, concurrency=CONCURRENCY, duration=DURATION,
                                             headers=hdrs))
    ratios = [me["rps"] / echo["rps"] for me, echo in zip(rounds["me"], rounds["echo"], strict=True)]
    suivi_ratios = [me["rps"] / echo["rps"]
                    for me, echo in zip(rounds["me"], rounds["suivi_echo"], strict=True)]
    result: dict[str, Any] = {name: _median_of(r) for name, r in rounds.items()}
    result.update(rounds=rounds, ratio=statistics.median(ratios),
                  ratio_vs_suivi_echo=statistics.median(suivi_ratios))
    labels = {"echo": "bare echo (stock ServiceRpc)", "suivi_echo": "echo (suivi ServiceRpc)",
              "me": "GET /api/me"}
    for name, label in labels.items():
        m = result[name]
        print(f"[me] {label}: {m['rps']:.0f} req/s p50 {m['p50_ms']:.1f} ms "
              f"p99 {m['p99_ms']:.1f} ms errors {m['errors']:.0f} (median of {ROUNDS} rounds)")
    print(f"[me] ratio vs bare echo: {result['ratio']:.2f} (rounds: "
          f"{', '.join(f'{r:.2f}' for r in ratios)}; target >= 0.6, p99 < 50 ms)")
    print(f"[me] ratio vs the same echo through suivi's ServiceRpc: "
          f"{result['ratio_vs_suivi_echo']:.2f}")
    return result
