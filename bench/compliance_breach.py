"""Breach fan-out (issue 12 §7): 10,000 affected controllers notified through the mailer's
breach-notice path, against a bare ``smtplib`` loop of the same messages in the same run.

``python -m bench compliance_breach``; ``BENCH_BREACH_N`` (10,000) sets the number of
controllers. ``BENCH_MAILER_PROBE=0`` runs the mailer under plain ``nameko run`` (by
default ``bench.mailer_probe`` counts its SQL); ``MAX_WORKERS`` passes through.

The stack (``BreachStack``): a fresh mailer database and vhost, the real mailer
(``services/mailer/config.yaml`` and its defaults, 20 workers), and in a process of their
own ``bench.mail_stubs.StubAccounts`` (``get_user`` from the id, no database: each of the
mailer's questions costs a broker round trip) and ``bench.compliance_stubs.StubCompliance``
(counts the mailer's ``breach_notice_sent`` reports). The SMTP sink is
``bench.mailer.CountingSink`` (aiosmtpd, counting by ``Message-ID``, in memory).

What compliance does when staff declare a breach ends, for the mailer, in one
``breach_notice_requested`` per controller and stage; the payloads are built with
compliance's own wording (``compliance.domain.breaches.notice_text``), each controller
with its own counts, and published as compliance's relay publishes them (signed for each
message id, publisher confirms). The clock runs from the first publish to the last email
at the sink. Checked: every controller's notice arrived once (``Message-ID``), is ``sent``
in ``notice_recipients`` and was reported ``sent`` once. Then the very messages the sink
received go through a bare ``smtplib`` loop in a child process (``bench.mailer --bare``):
one connection per email, as the mailer's adapter sends (the ratio's baseline), and all on
one connection (for information). Targets: under 60 s, ratio mailer / bare >= 0.5.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

from bench import mail_stubs as stubs
from bench.compliance_common import SUFFIX, backend_pids, cpu_seconds, drop, load, plain, url
from bench.mailer import CountingSink, _bare, publish
from compliance.domain import breaches as rules
from compliance.domain.categories import labelled
from suivi_common import clock, principals
from suivi_common.migrations import ensure_database, upgrade
from suivi_common.rpc import RpcClient
from suivi_common.testing import infra
from suivi_common.testing.waiting import broker_settled

ROOT = Path(__file__).resolve().parents[1]
N = int(os.environ.get("BENCH_BREACH_N", "10000"))
DB = f"mailer_breach_bench{SUFFIX}"
MIGRATIONS = ROOT / "services" / "mailer" / "mailer" / "migrations"
PROBE = os.environ.get("BENCH_MAILER_PROBE", "1") != "0"
CATEGORIES = ["identity", "email", "phone", "postal_code", "city"]


class BreachStack:
    """The mailer, the stubs and the sink (see the module), torn down by ``stop``."""

    def __init__(self) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="suivi-bench-breach-"))
        self.vhost = infra.fresh_vhost()
        self.uri = infra.amqp_uri(self.vhost)
        self.sink = CountingSink()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._saved_key_env: str | None = None

    @property
    def probe_file(self) -> Path:
        return self.work / "probe.json"

    def env(self) -> dict[str, str]:
        return {**os.environ, "PSYCOPG_WAIT_FUNC": "wait_select", "PYTHONUNBUFFERED": "1",
                "SUIVI_ENV": "dev", "LOG_LEVEL": "WARNING", "AMQP_URI": self.uri,
                "DATABASE_URL": url(DB), "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(self.sink.port), "PUBLIC_URL": "http://127.0.0.1:8000",
                "SUIVI_MASTER_KEY_FILE": str(self.work / "master.key"),
                "SUIVI_PRINCIPAL_KEY_FILE": str(self.work / "principal.key"),
                "SUIVI_DEV_CLOCK_FILE": str(self.work / "no-clock.json"),
                "GOOGLE_CLIENT_ID": "", "GOOGLE_CLIENT_SECRET": "", "GOOGLE_BASE_URL": ""}

    def _spawn(self, name: str, config: str, *targets: str, probe: bool = False) -> None:
        log = open(self.work / f"{name}.log", "ab")
        runner = ["bench.mailer_probe", str(self.probe_file)] if probe else ["nameko"]
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", *runner, "run", "--config", config, *targets], cwd=ROOT,
            env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start(self) -> BreachStack:
        drop(DB)
        ensure_database(url(DB))
        upgrade(MIGRATIONS, url(DB), create=False)
        principals.ensure_key_file(self.work / "principal.key")
        # this process signs what it publishes with the stack's key
        self._saved_key_env = os.environ.get("SUIVI_PRINCIPAL_KEY_FILE")
        os.environ["SUIVI_PRINCIPAL_KEY_FILE"] = str(self.work / "principal.key")
        self.sink.start()
        stub_cfg = self.work / "stubs.yaml"
        stub_cfg.write_text(json.dumps({
            "AMQP_URI": self.uri, "SERVICE_CONTAINER_CLS": "suivi_common.container.SuiviContainer",
            "SUIVI_ENV": "dev", "max_workers": 40,
            "LOGGING": {"version": 1, "root": {"level": "WARNING"}}}))
        self._spawn("stubs", str(stub_cfg), "bench.mail_stubs:StubAccounts",
                    "bench.compliance_stubs:StubCompliance")
        self._spawn("mailer", "services/mailer/config.yaml", "mailer.service:MailerService",
                    probe=PROBE)
        self._wait_healthy(("accounts", "compliance", "mailer"))
        return self

    def _wait_healthy(self, services: tuple[str, ...], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(services)
        while waiting:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited ({proc.returncode}): see "
                                       f"{self.work / (name + '.log')}")
            try:
                with RpcClient(self.uri, timeout=3) as rpc:
                    waiting = [s for s in waiting if rpc[s].health().get("status") != "ok"]
            except Exception:
                if time.monotonic() > deadline:
                    raise
            if waiting:
                time.sleep(0.3)

    def stop(self) -> None:
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
        infra.delete_vhost(self.vhost)
        drop(DB)
        if self._saved_key_env is None:
            os.environ.pop("SUIVI_PRINCIPAL_KEY_FILE", None)
        else:
            os.environ["SUIVI_PRINCIPAL_KEY_FILE"] = self._saved_key_env
        shutil.rmtree(self.work, ignore_errors=True)

    def cpu(self) -> dict[str, float]:
        out = {name: cpu_seconds(proc.pid) for name, proc in self.procs.items()}
        out["postgres"] = sum(cpu_seconds(p) for p in backend_pids(DB))
        return out

    def counts(self) -> dict[str, int]:
        """The mailer's SQL so far (``bench.mailer_probe``) and its calls to the stubs."""
        counts: dict[str, int] = {}
        if self.probe_file.exists():
            counts.update(json.loads(self.probe_file.read_text()))
        with RpcClient(self.uri) as rpc:
            counts.update({f"rpc:{k}": v for k, v in rpc.compliance.bench_calls().items()})
        return counts

    def settle(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not broker_settled(self.vhost):
            if time.monotonic() > deadline:
                raise RuntimeError("the broker did not settle")

    def recipients(self) -> dict[str, int]:
        with psycopg.connect(plain(DB)) as conn:
            rows = conn.execute("SELECT status, count(*) FROM notice_recipients "
                                "GROUP BY 1").fetchall()
        return {str(k): int(n) for k, n in rows}

    def reports(self) -> dict[str, Any]:
        with RpcClient(self.uri) as rpc:
            return dict(rpc.compliance.bench_reports())


def notices(n: int, breach_id: str) -> list[tuple[str, dict[str, Any]]]:
    """One ``breach_notice_requested`` per controller, as compliance's ``_notify`` writes
    it (stage 1, first notice)."""
    now = clock.now()
    detected = now - timedelta(hours=2)
    breach = {"id": breach_id, "nature": "Accès non autorisé à une sauvegarde de la base "
              "des prospects, détecté par la supervision.", "detected_at": detected,
              "data_categories": CATEGORIES,
              "likely_consequences": "Risque d'hameçonnage ciblé des prospects concernés.",
              "measures_taken": "Accès révoqué, clés changées, sauvegarde détruite."}
    dpo = rules.Dpo("Délégué à la protection des données", "dpo@suivi.example")
    approval_url = f"http://127.0.0.1:8000/breaches/{breach_id}"
    events = []
    for k in range(1, n + 1):
        counts = {"persons": 10 + k % 400, "records": 12 + k % 500}
        subject, text = rules.notice_text(breach, counts, 1, dpo, None, approval_url,
                                          first=True)
        events.append(("breach_notice_requested", {
            "breach_id": breach_id, "user_id": stubs.user_id(k), "network_id": stubs.NETWORK_ID,
            "stage": 1, "kind": "initial", "subject": subject, "text": text,
            "nature": breach["nature"], "data_categories": labelled(CATEGORIES),
            "persons": counts["persons"], "records": counts["records"],
            "likely_consequences": breach["likely_consequences"],
            "measures_taken": breach["measures_taken"], "dpo": dpo.as_dict(),
            "detected_at": detected.isoformat(),
            "deadline_at": rules.deadline(detected).isoformat(), "approval_url": approval_url}))
    return events


def render_cost(batch: list[tuple[str, dict[str, Any]]], n: int = 1000) -> dict[str, float]:
    """In this process, what the mailer's own pure work on one notice costs: parse the
    payload, render the email, build the message and serialise it (µs per email). The
    rest of its CPU per email is the handler around it (inbox, transactions, RPC, relay)."""
    from mailer import templates
    from mailer.domain import compliance_notices as notice_rules
    from mailer.domain import messages

    sample = [payload for _, payload in batch[:n]]
    now = clock.now()
    started = time.perf_counter()
    for payload in sample:
        notice = notice_rules.parse_breach(payload)
        assert notice.wording is not None
        rendered = templates.compliance_notice(notice.wording.subject, notice.wording.text)
        request = messages.MailRequest(notice_rules.BREACH, notice.user_id,
                                       "user@bench.example", rendered)
        msg = messages.build_message(request, "Suivi <no-reply@suivi.example>",
                                     messages.smtp_message_id(str(notice.key),
                                                              notice_rules.BREACH,
                                                              "no-reply@suivi.example"), now)
        msg.as_bytes()
    per = (time.perf_counter() - started) / max(len(sample), 1)
    return {"us_per_email": round(per * 1e6, 1), "sample": len(sample)}


def _wait(what: str, done: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not reached within {timeout:.0f}s")
        time.sleep(0.1)


def run(n: int = N) -> dict[str, Any]:
    stack = BreachStack().start()
    try:
        from suivi_common import events as contracts

        breach_id = str(uuid.uuid4())
        batch = notices(n, breach_id)
        for _, payload in batch[:3]:  # the payload holds to the catalogue's contract
            contracts.validate("breach_notice_requested", payload)
        stack.sink.reset(keep=True)
        time.sleep(1.5)  # the probe's file is at most a second old
        counts_before = stack.counts()
        load_before = load()
        cpu_before = stack.cpu()
        started = time.monotonic()
        publish(stack.uri, "compliance", batch)
        published = time.monotonic()
        _wait("every breach notice at the sink", lambda: stack.sink.unique >= n,
              timeout=max(300.0, n / 5))
        cpu_after = stack.cpu()
        load_after = load()
        with stack.sink.lock:
            arrivals = sorted(stack.sink.arrivals)
        seconds = arrivals[n - 1] - started
        stack.settle()
        time.sleep(1.5)
        counts_after = stack.counts()
        with stack.sink.lock:
            raws = list(stack.sink.kept)
            received = {"total": stack.sink.total, "unique": len(stack.sink.seen),
                        "duplicates": stack.sink.duplicates}
        mailer = {
            "emails": n, "seconds": round(seconds, 2), "per_second": round(n / seconds, 1),
            "publish_seconds": round(published - started, 2),
            "first_email_after_s": round(arrivals[0] - started, 2),
            "steady_per_second": round(0.8 * n / max(arrivals[int(0.9 * n) - 1]
                                                     - arrivals[int(0.1 * n)], 1e-9), 1),
            "cpu_ms_per_email": {name: round((cpu_after[name] - cpu_before.get(name, 0.0))
                                             * 1000 / n, 2) for name in cpu_after},
            "per_email": {k: round((v - counts_before.get(k, 0)) / n, 2)
                          for k, v in sorted(counts_after.items())
                          if v != counts_before.get(k, 0)},
            "sink": received, "notice_recipients": stack.recipients(),
            "breach_notice_sent": stack.reports(), "load_1min": [load_before, load_after]}
        mailer["pure_work_in_process"] = render_cost(batch)
        bare = _bare(stack, raws, "per_connection")  # type: ignore[arg-type]
        keepalive = _bare(stack, raws, "one_connection")  # type: ignore[arg-type]
        ok = (received == {"total": n, "unique": n, "duplicates": 0}
              and mailer["notice_recipients"] == {"sent": n}
              and mailer["breach_notice_sent"] == {"events": n, "notices": n,
                                                   "statuses": {"sent": n}})
        figures = {"controllers": n, "mailer": mailer, "bare_smtplib": bare,
                   "bare_smtplib_one_connection": keepalive,
                   "ratio_vs_bare": round(mailer["per_second"] / bare["per_second"], 3),
                   "ratio_vs_one_connection": round(mailer["per_second"]
                                                    / keepalive["per_second"], 3),
                   "exactly_once": ok, "target_seconds_under": 60,
                   "target_ratio_at_least": 0.5, "load_after_bare": load()}
    finally:
        stack.stop()
    print(f"  breach fan-out: {n:,} controllers in {mailer['seconds']} s "
          f"({mailer['per_second']} emails/s; target < 60 s), bare smtplib "
          f"{bare['per_second']}/s (one connection {keepalive['per_second']}/s): ratio "
          f"{figures['ratio_vs_bare']} (target >= 0.5); exactly once: {ok}; load "
          f"{mailer['load_1min']}", flush=True)
    print(f"  compliance_breach: {json.dumps(figures, default=str)}", flush=True)
    return figures


if __name__ == "__main__":
    run()
