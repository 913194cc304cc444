"""The mailer (issue 11, section 7): automations into SMTP, and office sends through Gmail.

``python -m bench mailer`` runs both parts (``BENCH_MAILER_PARTS=automations`` or
``gmail``: one). Each starts its own stack (``MailStack``): a fresh ``mailer_bench``
database and vhost, the real mailer (``services/mailer/config.yaml`` and its defaults, 20
workers; run by ``bench.mailer_probe``, which counts its SQL, unless
``BENCH_MAILER_PROBE=0``; ``BENCH_MAILER_INSTANCES`` processes of it, 1 by default), and
``bench.mail_stubs`` in a process of their own for accounts
and leads (each of the mailer's questions costs a real broker round trip, but no
database). The SMTP sink (aiosmtpd, in memory: no disk write, so the floor is as fast as
it can be) and the fake Google (``tools/fakes/fake_google.py`` with a quota, below) run in
this process.

``run_automations``: ``BENCH_MAIL_N`` (10,000) leads of 20 users enter "contacted", on
which the network's automation sends its default French template. The
``lead_status_changed`` events are published as leads' relay publishes them (signed, with
confirms), and the clock runs from the first publish to the last email at the sink. Every
email must arrive once (counted by ``Message-ID`` at the sink), be ``sent`` in
``lead_emails`` and be reported once (``lead_email_sent``). Then the same messages, as the
sink received them, go through a bare ``smtplib`` loop in a child process: one connection
per email, as the mailer's adapter sends (the baseline of the ratio), and all on one
connection (for information). Ratio: mailer / bare.

``run_gmail``: one user links Gmail (the OAuth flow against the fake, completed as the
gateway completes it), then queues ``BENCH_GMAIL_N`` (1,000) office sends
(``send_lead_email``, a template each, one call after the other). The fake Google refuses
(429) any send beyond ``BENCH_GMAIL_PER_MINUTE`` (150, the mailer's default quota) in a
sliding minute (shortened by ``QUOTA_TOLERANCE_S`` for network jitter). Checked at the
fake: none lost, none twice (``Message-ID``), none refused; reported: the time against the
quota's floor (``floor((N - 1) / quota)`` minutes: the first quota at once, then a quota a
minute), the most sends seen in any 60 s window, and how long queueing a send took.
"""
from __future__ import annotations

import bisect
import email
import email.policy
import json
import os
import pickle
import re
import smtplib
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import psycopg
import requests
from aiosmtpd.controller import Controller
from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange

from bench import mail_stubs as stubs
from bench.stack import INSTANCES, MailerProcesses, free_port
from suivi_common import principals
from suivi_common.auth import Principal
from suivi_common.rpc import RpcClient
from suivi_common.testing import infra
from tools.fakes.fake_google import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Fault, GoogleServer

ROOT = Path(__file__).resolve().parents[1]
DB = f"mailer_bench{infra.DB_SUFFIX}"
DB_URL = f"{infra.PG_BASE}/{DB}"
#: The same cluster as a plain psycopg URL (``SUIVI_PG_BASE``, as the tests use it).
PG_PLAIN = infra.PG_BASE.replace("postgresql+psycopg://", "postgresql://", 1)
MAIL_N = int(os.environ.get("BENCH_MAIL_N", "10000"))
GMAIL_N = int(os.environ.get("BENCH_GMAIL_N", "1000"))
GMAIL_PER_MINUTE = int(os.environ.get("BENCH_GMAIL_PER_MINUTE", "150"))
USERS = 20
#: Count the mailer's SQL (``bench.mailer_probe``); 0: plain ``nameko run``.
PROBE = os.environ.get("BENCH_MAILER_PROBE", "1") != "0"
QUOTA_TOLERANCE_S = 1.0
ADMIN = Principal(stubs.user_id(0), "admin", stubs.NETWORK_ID)
_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.I | re.M)


def message_id_of(raw: bytes) -> bytes:
    found = _MESSAGE_ID.search(raw.split(b"\r\n\r\n", 1)[0])
    return found.group(1) if found else b""


# --- the SMTP sink -----------------------------------------------------------------------------

class CountingSink:
    """A real SMTP server (aiosmtpd) that counts what it accepts by ``Message-ID``, keeps
    each first copy when asked (the bare loop resends them) and writes nothing."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller: Controller | None = None
        self.reset()

    def reset(self, keep: bool = False) -> None:
        with self.lock:
            self.keep = keep
            self.total = 0
            self.duplicates = 0
            self.seen: set[bytes] = set()
            self.kept: list[bytes] = []
            self.arrivals: list[float] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content or b""
        mid = message_id_of(raw)
        with self.lock:
            self.total += 1
            self.arrivals.append(time.monotonic())
            if mid in self.seen:
                self.duplicates += 1
            else:
                self.seen.add(mid)
                if self.keep:
                    self.kept.append(raw)
        return "250 Message accepted for delivery"

    @property
    def unique(self) -> int:
        with self.lock:
            return len(self.seen)

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                     enable_SMTPUTF8=True, ready_timeout=60)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


# --- the fake Google, with Gmail's per-user quota -------------------------------------------------

class QuotaGoogle(GoogleServer):
    """``fake_google`` that also answers 429 to a send beyond ``per_minute`` accepted ones
    of the account in the last minute (less ``QUOTA_TOLERANCE_S``), and timestamps each
    accepted send."""

    def __init__(self, per_minute: int) -> None:
        super().__init__(("127.0.0.1", free_port()), DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        self.per_minute = per_minute
        self.window = 60.0 - QUOTA_TOLERANCE_S
        self.accepted_at: list[float] = []
        self.refused = 0
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="bench-google", daemon=True)

    def take_fault(self, endpoint: str) -> Fault | None:
        fault = super().take_fault(endpoint)
        if fault is not None or endpoint != "send":
            return fault
        now = time.monotonic()
        with self.lock:
            recent = len(self.accepted_at) - bisect.bisect_right(self.accepted_at, now - self.window)
            if recent >= self.per_minute:
                self.refused += 1
                return Fault(429, 1, retry_after=1)
        return None

    def store(self, account: str, raw: bytes, message: Any) -> Any:
        sent = super().store(account, raw, message)
        with self.lock:
            self.accepted_at.append(time.monotonic())
        return sent

    def start(self) -> QuotaGoogle:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


# --- the stack --------------------------------------------------------------------------------------

def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class MailStack(MailerProcesses):
    def __init__(self, google_per_minute: int | None = None) -> None:
        super().__init__("suivi-bench-mailer-", DB, DB_URL, PG_PLAIN, CountingSink())
        self.google = QuotaGoogle(google_per_minute) if google_per_minute else None

    def env(self) -> dict[str, str]:
        env = super().env()
        if self.google is not None:
            env.update({"GOOGLE_BASE_URL": self.google.base_url,
                        "GOOGLE_CLIENT_ID": DEFAULT_CLIENT_ID,
                        "GOOGLE_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
                        "GMAIL_SENDS_PER_MINUTE": str(self.google.per_minute)})
        return env

    def counts(self) -> dict[str, int]:
        """The mailer's SQL so far (``bench.mailer_probe``) and its calls to the stubs."""
        counts = self.probe_counts()
        with RpcClient(self.uri) as rpc:
            counts.update({f"rpc:{k}": v for k, v in rpc.leads.bench_calls().items()})
        return counts

    def start(self) -> MailStack:
        google = self.google
        self.start_processes(("bench.mail_stubs:StubAccounts", "bench.mail_stubs:StubLeads"),
                             ("accounts", "leads", "mailer"), PROBE,
                             before=google.start if google is not None else None)
        return self

    def stop(self) -> None:
        self.stop_processes(after=self.google.stop if self.google is not None else None)

    def cpu(self) -> dict[str, float]:
        return {name: _cpu_seconds(proc.pid) for name, proc in self.procs.items()}

    def settle(self, timeout: float = 120.0) -> None:
        self.settle_all(timeout)

    def statuses(self) -> dict[str, int]:
        with psycopg.connect(f"{PG_PLAIN}/{DB}") as conn:
            rows = conn.execute("SELECT status || ':' || coalesce(channel, '-'), count(*) "
                                "FROM lead_emails GROUP BY 1").fetchall()
        return {key: int(n) for key, n in rows}

    def sent_events(self) -> dict[str, int]:
        with RpcClient(self.uri) as rpc:
            return dict(rpc.leads.bench_sent_events())

    def network(self, name: str = "Réseau Banc d'essai") -> None:
        """The network as accounts announces it (its default templates are seeded)."""
        publish(self.uri, "accounts", [("network_created", {
            "network_id": stubs.NETWORK_ID, "name": name, "admin_id": ADMIN.user_id})])
        deadline = time.monotonic() + 60
        while True:
            with psycopg.connect(f"{PG_PLAIN}/{DB}") as conn:
                if conn.execute("SELECT 1 FROM email_templates WHERE network_id = %s",
                                (stubs.NETWORK_ID,)).fetchone():
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("the network's templates were not seeded")
            time.sleep(0.2)

    def default_template(self, status: str) -> str:
        with RpcClient(self.uri, principal=ADMIN) as rpc:
            items = rpc.mailer.list_templates(None, 50)["items"]
        return next(t["id"] for t in items if t["default_for_status"] == status)


def publish(uri: str, source: str, events: list[tuple[str, dict[str, Any]]]) -> int:
    """Publish events of ``source`` as its outbox relay does (signed for each message id,
    publisher confirms), on one pooled connection; returns how many."""
    import uuid

    exchange = get_event_exchange(source)
    publisher = Publisher(uri, use_confirms=True, declare=[exchange])
    for event_type, payload in events:
        message_id = str(uuid.uuid4())
        publisher.publish(payload, exchange=exchange, routing_key=event_type,
                          message_id=message_id, extra_headers={
                              "nameko.correlation_id": f"bench-{message_id}",
                              f"nameko.{principals.PRINCIPAL_KEY}":
                                  principals.event_token(source, message_id)})
    return len(events)


def _wait(what: str, done: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not reached within {timeout:.0f}s")
        time.sleep(0.1)


# --- automations → SMTP ---------------------------------------------------------------------------

def _bare_loop(path: str, port: int, mode: str) -> dict[str, Any]:
    """Child process: the messages (parsed before the clock starts) sent with smtplib."""
    raws = pickle.loads(Path(path).read_bytes())
    messages = [email.message_from_bytes(raw, policy=email.policy.default) for raw in raws]
    started = time.perf_counter()
    if mode == "per_connection":
        for msg in messages:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                smtp.send_message(msg)
    else:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            for msg in messages:
                smtp.send_message(msg)
    seconds = time.perf_counter() - started
    return {"emails": len(messages), "seconds": round(seconds, 3),
            "per_second": round(len(messages) / seconds, 1)}


def _bare(stack: MailStack, raws: list[bytes], mode: str) -> dict[str, Any]:
    path = stack.work / "messages.pickle"
    path.write_bytes(pickle.dumps(raws))
    stack.sink.reset()
    done = subprocess.run([sys.executable, "-m", "bench.mailer", "--bare", str(path),
                           str(stack.sink.port), mode], cwd=ROOT, capture_output=True, text=True,
                          check=True, env={**os.environ, "PSYCOPG_WAIT_FUNC": "wait_select"})
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    _wait("the bare loop's emails at the sink", lambda: stack.sink.total >= len(raws), 60)
    result["at_sink"] = stack.sink.total
    return result


def status_changes(n: int) -> list[tuple[str, dict[str, Any]]]:
    now = datetime.now(UTC).isoformat()
    events = []
    for i in range(n):
        owner = 1 + i % USERS
        events.append(("lead_status_changed", {
            "lead_id": stubs.lead_id(owner, i), "user_id": stubs.user_id(owner),
            "network_id": stubs.NETWORK_ID, "old_status": "new", "new_status": stubs.STATUS,
            "changed_at": now, "cause": "status_change"}))
    return events


def run_automations(n: int = MAIL_N) -> dict[str, Any]:
    stack = MailStack().start()
    try:
        stack.network()
        template_id = stack.default_template(stubs.STATUS)
        with RpcClient(stack.uri, principal=ADMIN) as rpc:
            rpc.mailer.create_automation({"status": stubs.STATUS, "template_id": template_id})
        events = status_changes(n)
        stack.sink.reset(keep=True)
        time.sleep(1.5)  # the probe's file is at most a second old
        counts_before = stack.counts()
        load_before = os.getloadavg()[0]
        cpu_before = stack.cpu()
        started = time.monotonic()
        publish(stack.uri, "leads", events)
        published = time.monotonic()
        _wait("every automation email at the sink", lambda: stack.sink.unique >= n,
              timeout=max(300.0, n / 5))
        cpu_after = stack.cpu()
        with stack.sink.lock:
            arrivals = sorted(stack.sink.arrivals)
        last = arrivals[n - 1]
        seconds = last - started
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
            # the steady rate, between the 10th and the 90th percentile of arrivals
            "steady_per_second": round(0.8 * n / max(arrivals[int(0.9 * n) - 1]
                                                     - arrivals[int(0.1 * n)], 1e-9), 1),
            "cpu_ms_per_email": {name: round((cpu_after[name] - cpu_before[name]) * 1000 / n, 2)
                                 for name in cpu_after},
            "per_email": {k: round((v - counts_before.get(k, 0)) / n, 2)
                          for k, v in sorted(counts_after.items())
                          if v != counts_before.get(k, 0)},
            "sink": received, "lead_emails": stack.statuses(),
            "lead_email_sent_events": stack.sent_events(),
            "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "instances": INSTANCES,
            "workers_each": int(os.environ.get("MAX_WORKERS", "20"))}
        bare = _bare(stack, raws, "per_connection")
        keepalive = _bare(stack, raws, "one_connection")
        ok = (received == {"total": n, "unique": n, "duplicates": 0}
              and mailer["lead_emails"] == {"sent:smtp": n}
              and mailer["lead_email_sent_events"] == {"events": n, "emails": n})
        return {"mailer": mailer, "bare_smtplib": bare, "bare_smtplib_one_connection": keepalive,
                "ratio_vs_bare": round(mailer["per_second"] / bare["per_second"], 3),
                "ratio_vs_one_connection": round(mailer["per_second"] / keepalive["per_second"], 3),
                "exactly_once": ok, "target_ratio_at_least": 0.5}
    finally:
        stack.stop()


# --- office sends → Gmail ------------------------------------------------------------------------------

def link_gmail(stack: MailStack, who: Principal, address: str) -> None:
    """The OAuth flow as a browser and the gateway drive it, against the fake Google."""
    with RpcClient(stack.uri, principal=who) as rpc:
        started = rpc.mailer.google_authorize()
    browser = requests.Session()
    browser.trust_env = False
    consent = browser.get(f"{started['url']}&login_hint={quote(address)}",
                          allow_redirects=False, timeout=30)
    assert consent.status_code == 302, consent.text
    query = parse_qs(urlsplit(consent.headers["Location"]).query)
    with RpcClient(stack.uri, service="gateway") as rpc:
        linked = rpc.mailer.google_complete(query["code"][0], query["state"][0],
                                            started["binding"])
    assert linked["can_send"] is True, linked


def max_in_window(times: list[float], window: float = 60.0) -> int:
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def run_gmail(n: int = GMAIL_N, per_minute: int = GMAIL_PER_MINUTE) -> dict[str, Any]:
    stack = MailStack(google_per_minute=per_minute).start()
    google = stack.google
    assert google is not None
    try:
        stack.network()
        template_id = stack.default_template(stubs.STATUS)
        owner = Principal(stubs.user_id(1), "user", stubs.NETWORK_ID)
        link_gmail(stack, owner, "conseiller1@gmail.test")
        stack.sink.reset()
        load_before = os.getloadavg()[0]
        latencies = []
        started = time.monotonic()
        with RpcClient(stack.uri, principal=owner, timeout=900) as rpc:
            for i in range(n):
                t = time.monotonic()
                queued = rpc.mailer.send_lead_email(stubs.lead_id(1, i), template_id)
                latencies.append(time.monotonic() - t)
                assert queued["status"] == "queued", queued
        all_queued = time.monotonic()
        floor_s = (n - 1) // per_minute * 60.0
        _wait("every office email at the fake Gmail", lambda: len(google.accepted_at) >= n,
              timeout=2 * floor_s + 300)
        stack.settle()
        with google.lock:
            times = sorted(google.accepted_at)
            ids = [str(s.message.get("Message-ID", "")) for s in google.sent]
            refused = google.refused
        seconds = times[n - 1] - started
        latencies.sort()
        return {
            "emails": n, "quota_per_minute": per_minute, "seconds": round(seconds, 1),
            "quota_floor_seconds": floor_s,
            "time_vs_floor": round(seconds / floor_s, 3) if floor_s else None,
            "all_queued_after_s": round(all_queued - started, 1),
            "queue_rpc_ms": {"p50": round(statistics.median(latencies) * 1000, 1),
                             "p99": round(latencies[int(0.99 * (n - 1))] * 1000, 1),
                             "max": round(latencies[-1] * 1000, 1),
                             "over_5s": sum(1 for t in latencies if t > 5.0)},
            "max_sends_in_60s": max_in_window(times),
            # send k and send k + quota: a minute apart when paced (less the network jitter)
            "min_span_of_quota_sends_s": round(min(
                (times[k + per_minute] - times[k] for k in range(n - per_minute)),
                default=0.0), 3),
            "sent_in_first_minute": bisect.bisect_left(times, times[0] + 60.0),
            "at_fake": {"total": len(ids), "unique": len(set(ids)),
                        "duplicates": len(ids) - len(set(ids)), "refused_429": refused},
            "smtp_fallbacks": stack.sink.total,
            "lead_emails": stack.statuses(),
            "lead_email_sent_events": stack.sent_events(),
            "none_lost_none_twice": len(ids) == n and len(set(ids)) == n,
            "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
    finally:
        stack.stop()


def _show(name: str, result: dict[str, Any]) -> None:
    print(f"  {name}: {json.dumps(result, default=str)}", flush=True)


def automations() -> dict[str, Any]:
    a = run_automations()
    print(f"  automations: mailer {a['mailer']['per_second']} emails/s, bare smtplib "
          f"{a['bare_smtplib']['per_second']}/s (one connection "
          f"{a['bare_smtplib_one_connection']['per_second']}/s): ratio {a['ratio_vs_bare']} "
          f"(vs one connection {a['ratio_vs_one_connection']}); exactly once: "
          f"{a['exactly_once']}", flush=True)
    _show("automations", a)
    return a


def gmail() -> dict[str, Any]:
    g = run_gmail()
    print(f"  gmail: {g['emails']} sends at {g['quota_per_minute']}/min in {g['seconds']} s "
          f"(quota floor {g['quota_floor_seconds']} s: x{g['time_vs_floor']}); at most "
          f"{g['max_sends_in_60s']} in 60 s; none lost, none twice: {g['none_lost_none_twice']}",
          flush=True)
    _show("gmail", g)
    return g


PARTS = {"automations": automations, "gmail": gmail}


def run() -> dict[str, Any]:
    """Both parts; ``BENCH_MAILER_PARTS=automations`` (or ``gmail``) runs one."""
    chosen = [p.strip() for p in os.environ.get("BENCH_MAILER_PARTS", "automations,gmail")
              .split(",") if p.strip()]
    return {part: PARTS[part]() for part in chosen}


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "--bare":
        print(json.dumps(_bare_loop(sys.argv[2], int(sys.argv[3]), sys.argv[4])))
    else:
        print(json.dumps(run(), indent=2, default=str))
