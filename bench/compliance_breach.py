"""Breach fan-out (issue 12 §7): 10,000 affected controllers notified through the mailer's
breach-notice path, against a bare ``smtplib`` loop of the same messages in the same run.

``python -m bench compliance_breach``; ``BENCH_BREACH_N`` (10,000) sets the number of
controllers. ``BENCH_MAILER_PROBE=0`` runs the mailer under plain ``nameko run`` (by
default ``bench.mailer_probe`` counts its SQL and its waits); ``MAX_WORKERS`` passes
through; ``BENCH_MAILER_INSTANCES`` (1) runs that many mailer processes.

The stack (``BreachStack``): a fresh mailer database and vhost, the real mailer
(``services/mailer/config.yaml`` and its defaults, 20 workers), and in a process of their
own ``bench.mail_stubs.StubAccounts`` (``senders`` and ``get_user`` from the ids, no database: each of the
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
import time
import uuid
from datetime import timedelta
from typing import Any

import psycopg

from bench import mail_stubs as stubs
from bench.compliance_common import (
    PG_PLAIN,
    SUFFIX,
    backend_pids,
    cpu_seconds,
    load,
    plain,
    url,
)
from bench.mailer import CountingSink, _bare, publish
from bench.stack import INSTANCES, MailerProcesses
from compliance.domain import breaches as rules
from compliance.domain.categories import labelled
from suivi_common import clock
from suivi_common.rpc import RpcClient

N = int(os.environ.get("BENCH_BREACH_N", "10000"))
DB = f"mailer_breach_bench{SUFFIX}"
PROBE = os.environ.get("BENCH_MAILER_PROBE", "1") != "0"
CATEGORIES = ["identity", "email", "phone", "postal_code", "city"]


class BreachStack(MailerProcesses):
    """The mailer, the stubs and the sink (see the module), torn down by ``stop``."""

    def __init__(self) -> None:
        super().__init__("suivi-bench-breach-", DB, url(DB), PG_PLAIN, CountingSink())

    def start(self) -> BreachStack:
        self.start_processes(("bench.mail_stubs:StubAccounts",
                              "bench.compliance_stubs:StubCompliance"),
                             ("accounts", "compliance", "mailer"), PROBE)
        return self

    def stop(self) -> None:
        self.stop_processes()

    def cpu(self) -> dict[str, float]:
        out = {name: cpu_seconds(proc.pid) for name, proc in self.procs.items()}
        out["postgres"] = sum(cpu_seconds(p) for p in backend_pids(DB))
        return out

    def counts(self) -> dict[str, int]:
        """The mailer's SQL so far (``bench.mailer_probe``) and its calls to the stubs."""
        counts = self.probe_counts()
        with RpcClient(self.uri) as rpc:
            counts.update({f"rpc:{k}": v for k, v in rpc.compliance.bench_calls().items()})
        return counts

    def settle(self, timeout: float = 120.0) -> None:
        self.settle_all(timeout)

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
            "breach_notice_sent": stack.reports(), "load_1min": [load_before, load_after],
            "instances": INSTANCES, "workers_each": int(os.environ.get("MAX_WORKERS", "20"))}
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
