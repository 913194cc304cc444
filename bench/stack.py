"""Start a throw-away platform for benchmarks (own databases, vhost, ports), or the
mailer alone with stub services (``MailerProcesses``, for ``bench.mailer`` and
``bench.compliance_breach``)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from suivi_common import principals
from suivi_common.migrations import ensure_database, upgrade
from suivi_common.testing import infra
from suivi_common.testing.waiting import broker_settled
from tools.platform import SERVICES, Platform, wait_rpc_health

ROOT = Path(__file__).resolve().parents[1]
MAILER_MIGRATIONS = ROOT / "services" / "mailer" / "mailer" / "migrations"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_platform(suffix: str = "_bench", services: tuple[str, ...] = tuple(SERVICES),
                   **extra_env: str) -> Platform:
    with psycopg.connect(f"{infra.PG_PLAIN}/postgres", autocommit=True) as conn:
        for service in SERVICES:
            conn.execute(f'DROP DATABASE IF EXISTS "{service}{suffix}" WITH (FORCE)')
    var_dir = Path(tempfile.mkdtemp(prefix="suivi-bench-"))
    return Platform(db_suffix=suffix, vhost=f"suivi-bench-{uuid.uuid4().hex[:8]}",
                    gateway_port=free_port(), smtp_port=free_port(), card_port=free_port(),
                    var_dir=var_dir, extra_env={"LOG_LEVEL": "WARNING", **extra_env},
                    services=services)


def drop_vhost(vhost: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)


#: how many mailer processes the mailer benchmarks run (``BENCH_MAILER_INSTANCES``)
INSTANCES = max(1, int(os.environ.get("BENCH_MAILER_INSTANCES", "1")))


class MailerProcesses:
    """The real mailer (``nameko run`` of ``services/mailer/config.yaml``; run by
    ``bench.mailer_probe``, which counts its SQL, when ``probe``) and stub services in a
    process of their own, on a fresh mailer database (``db`` on the cluster of
    ``plain_base``, a psycopg URL) and vhost, with an SMTP sink started and stopped with
    them. ``env`` is the processes' environment; subclasses add to it."""

    def __init__(self, prefix: str, db: str, db_url: str, plain_base: str, sink: Any) -> None:
        self.work = Path(tempfile.mkdtemp(prefix=prefix))
        self.vhost = infra.fresh_vhost()
        self.uri = infra.amqp_uri(self.vhost)
        self.db, self.db_url, self.plain_base = db, db_url, plain_base
        self.sink = sink
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._saved_key_env: str | None = None

    @property
    def probe_file(self) -> Path:
        return self.work / "probe.json"

    def outbox_rows(self) -> int:
        """The mailer's outbox rows its relay has not published yet."""
        with psycopg.connect(f"{self.plain_base}/{self.db}") as conn:
            row = conn.execute("SELECT count(*) FROM outbox").fetchone()
        return int(row[0]) if row else 0

    def settle_all(self, timeout: float = 120.0) -> None:
        """Every event the mailer wrote relayed (its outbox empty: a relay behind the
        sends is not a loss), then every message handled and acked (so a duplicate would
        have landed by now)."""
        deadline = time.monotonic() + timeout
        while self.outbox_rows() or not broker_settled(self.vhost):
            if time.monotonic() > deadline:
                raise RuntimeError("the outbox did not drain or the broker did not settle")
            time.sleep(0.2)

    def probe_counts(self) -> dict[str, int]:
        """``bench.mailer_probe``'s counts so far, summed over the mailer's instances."""
        counts: dict[str, int] = {}
        for path in sorted(self.work.glob("probe*.json")):
            for key, value in json.loads(path.read_text()).items():
                counts[key] = counts.get(key, 0) + value
        return counts

    def env(self) -> dict[str, str]:
        return {**os.environ, "PSYCOPG_WAIT_FUNC": "wait_select", "PYTHONUNBUFFERED": "1",
                "SUIVI_ENV": "dev", "LOG_LEVEL": "WARNING", "AMQP_URI": self.uri,
                "DATABASE_URL": self.db_url, "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(self.sink.port), "PUBLIC_URL": "http://127.0.0.1:8000",
                "SUIVI_MASTER_KEY_FILE": str(self.work / "master.key"),
                "SUIVI_PRINCIPAL_KEY_FILE": str(self.work / "principal.key"),
                "SUIVI_DEV_CLOCK_FILE": str(self.work / "no-clock.json"),
                "GOOGLE_CLIENT_ID": "", "GOOGLE_CLIENT_SECRET": "", "GOOGLE_BASE_URL": ""}

    def _spawn(self, name: str, config: str, *targets: str, probe: bool = False) -> None:
        log = open(self.work / f"{name}.log", "ab")
        probe_file = self.probe_file if name == "mailer" else self.work / f"probe-{name}.json"
        runner = ["bench.mailer_probe", str(probe_file)] if probe else ["nameko"]
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", *runner, "run", "--config", config, *targets], cwd=ROOT,
            env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def drop_database(self) -> None:
        with psycopg.connect(f"{self.plain_base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')

    def start_processes(self, stubs: tuple[str, ...], healthy: tuple[str, ...], probe: bool,
                        before: Callable[[], Any] | None = None) -> None:
        """Database, keys, the sink (then ``before``), the stubs, the mailer; returns once
        ``healthy`` all answer."""
        self.drop_database()
        ensure_database(self.db_url)
        upgrade(MAILER_MIGRATIONS, self.db_url, create=False)
        principals.ensure_key_file(self.work / "principal.key")
        # this process signs what it publishes with the stack's key
        self._saved_key_env = os.environ.get("SUIVI_PRINCIPAL_KEY_FILE")
        os.environ["SUIVI_PRINCIPAL_KEY_FILE"] = str(self.work / "principal.key")
        self.sink.start()
        if before is not None:
            before()
        stub_cfg = self.work / "stubs.yaml"
        stub_cfg.write_text(json.dumps({
            "AMQP_URI": self.uri, "SERVICE_CONTAINER_CLS": "suivi_common.container.SuiviContainer",
            "SUIVI_ENV": "dev", "max_workers": 40,
            "LOGGING": {"version": 1, "root": {"level": "WARNING"}}}))
        self._spawn("stubs", str(stub_cfg), *stubs)
        # ``BENCH_MAILER_INSTANCES`` (1): the mailer may run as several processes, as the
        # platform may (its claims, inbox and locks make a second instance safe); each
        # instance is named ``mailer``, ``mailer2``...
        for k in range(1, INSTANCES + 1):
            self._spawn("mailer" if k == 1 else f"mailer{k}", "services/mailer/config.yaml",
                        "mailer.service:MailerService", probe=probe)
        wait_rpc_health(self.uri, healthy, self.procs.items(), self.work, timeout=120.0)

    def stop_processes(self, after: Callable[[], Any] | None = None) -> None:
        """Everything ``start_processes`` started (``after`` once the sink is stopped)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.sink.stop()
        if after is not None:
            after()
        infra.delete_vhost(self.vhost)
        self.drop_database()
        if self._saved_key_env is None:
            os.environ.pop("SUIVI_PRINCIPAL_KEY_FILE", None)
        else:
            os.environ["SUIVI_PRINCIPAL_KEY_FILE"] = self._saved_key_env
        shutil.rmtree(self.work, ignore_errors=True)
