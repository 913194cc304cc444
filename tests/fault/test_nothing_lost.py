"""Fault tests: nothing is lost and nothing happens twice while processes die and database
connections are cut mid-stream.

A stream of real traffic runs against a whole platform (HTTP captures, AMQP captures,
takes, auto-delivery, office status changes, invitations and their emails, plan
purchases paid by card). At seeded moments of the stream (a fraction of its operations
done, not a wall-clock instant) a fault strikes: ``kill -9`` of one process then its
restart, or ``pg_terminate_backend`` of one service's database connections. The clients
behave as real ones: a refused connection, a 503 or a 504 is retried (captures dedupe, a
status change is idempotent, a take retried after a lost answer may take again). When
the stream has drained, the truth is read from the databases, the SMTP sink and an audit
queue that saw every event published, and checked against what the clients were told.

Nothing here depends on speed: every wait polls a condition with a deadline, fault
moments are progress points, and the assertions hold whatever interleaving happened.
"""
from __future__ import annotations

import email
import email.policy
import json
import os
import random
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import eventlet
import pytest
import requests

from suivi_common.testing.waiting import wait_for
from tools.api_client import Api, Mailbox, onboard, pay_by_card, subscribe_by_card
from tools.platform import DEV_STAFF, SERVICES

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2027, 6, 2, 10, 0, tzinfo=PARIS)  # a Wednesday, no holiday
SEED = int(os.environ.get("FAULT_SEED", "9"))
ROUNDS = int(os.environ.get("FAULT_ROUNDS", "1"))  # more faults per stream, to soak by hand
WAIT = 60.0  # generous deadline of every wait on the platform (seconds)
STREAM_BUDGET = 600.0 * ROUNDS  # a stream still running after this is stuck: fail, with its counts
RETRYABLE = (503, 504)
STATUSES = ("contacted", "meeting")  # non-terminal: a lead can move back and forth

# --- the platform's clock and lead payloads ------------------------------------------------


@dataclass
class Clock:
    """The platform's dev clock runs at real speed from ``START``."""

    offset: float = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)


def lead_payload(i: int, tier: str, consent: datetime) -> dict[str, Any]:
    """A valid lead, unique per ``i`` (email and mobile), graded ``tier``."""
    lead: dict[str, Any] = {
        "first_name": "Jeanne", "last_name": f"Durand{i}", "email": f"fault.{i}@exemple.fr",
        "country": "FR", "source_url": "https://rejoindre.example/form",
        "consent_at": consent.isoformat(), "postal_code": "75011", "city": "Paris"}
    if tier in ("premium", "premium_plus"):
        lead["mobile"] = "06" + f"{(31_000_000 + i) % 100_000_000:08d}"
    if tier == "premium_plus":
        lead.update(call_window="18h-20h", time_available="10h/semaine", income_goal="1000")
    return lead


# --- an HTTP client that retries as a real one would ------------------------------------------


@dataclass
class Seen:
    """What the clients saw."""

    statuses: Counter = field(default_factory=Counter)  # (route, status) -> count
    server_errors: list[str] = field(default_factory=list)  # 5xx but 503/504
    unexpected: list[str] = field(default_factory=list)  # refusals no client should get
    gave_up: list[str] = field(default_factory=list)
    connection_errors: int = 0
    retried: int = 0


class Client:
    def __init__(self, base_url: str, seen: Seen, token: str | None = None) -> None:
        self.base_url = base_url
        self.seen = seen
        self.token = token
        self.http = requests.Session()
        self.http.trust_env = False

    def call(self, method: str, path: str, body: Any = None, route: str = "",
             headers: dict[str, str] | None = None) -> tuple[int, Any, bool]:
        """``(status, body, retried)``; refused/reset connections, 503 and 504 are retried
        until ``WAIT`` runs out. ``retried`` says an earlier attempt may have run."""
        route = route or f"{method} {path}"
        hdrs = dict(headers or {})
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        deadline = time.monotonic() + WAIT
        retried, pause = False, 0.1
        while True:
            try:
                resp = self.http.request(method, self.base_url + path, json=body, headers=hdrs,
                                         timeout=60)
            except (requests.ConnectionError, requests.Timeout):
                self.seen.connection_errors += 1
                status: int | None = None
            else:
                status = resp.status_code
                self.seen.statuses[(route, status)] += 1
                if status >= 500 and status not in RETRYABLE:
                    self.seen.server_errors.append(f"{route} -> {status}: {resp.text[:300]}")
                if status not in RETRYABLE:
                    try:
                        payload = resp.json()
                    except ValueError:
                        payload = resp.text
                    return status, payload, retried
            if time.monotonic() > deadline:
                self.seen.gave_up.append(f"{route} (last status {status})")
                return -1, None, retried
            self.seen.retried += 1
            retried = True
            time.sleep(pause)
            pause = min(1.0, pause * 1.5)


# --- the world the stream runs in -------------------------------------------------------------


@dataclass
class Member:
    api: Api
    user_id: str
    email: str


@dataclass
class World:
    clock: Clock
    staff: Api
    admin: Member
    members: list[Member]
    take_plans: list[tuple[str, Member]]  # plans drawn by hand
    auto_plans: list[tuple[str, Member]]  # plans served by auto-delivery
    next_lead: int = 0
    delivered: list[tuple[str, Member]] = field(default_factory=list)  # taken by hand so far

    def lead_numbers(self, n: int) -> range:
        start = self.next_lead
        self.next_lead += n
        return range(start, start + n)


def query(fp: Any, service: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    return fp.query(service, sql, params)


def buy_plan(member: Member, records: int, tier: str, auto: bool) -> str:
    plan = member.api.post("/api/plans", {"records": records, "tier": tier, "country": "FR",
                                          "payment_method": "card"}, expect=201)
    pay_by_card(plan["payment"])
    wait_for(lambda: member.api.get(f"/api/plans/{plan['id']}")["status"] == "active",
             interval=0.2, what=f"plan {plan['id']} active")
    if auto:
        member.api.put(f"/api/plans/{plan['id']}/auto-delivery", {"enabled": True})
    return str(plan["id"])


@pytest.fixture(scope="module")
def world(fault_platform: Any) -> World:
    url = fault_platform.url
    anon = Api(url)
    moved = anon.post("/api/dev/clock", {"now": START.isoformat()}, expect=200)
    clock = Clock(float(moved["offset_seconds"]))
    if len(moved["confirmed"]) < len(SERVICES):  # the gateway waits a few seconds only
        def on_it(service: dict[str, Any]) -> bool:
            return abs(float(service.get("clock_offset_seconds", 1e18)) - clock.offset) < 1.0
        wait_for(lambda: all(on_it(health(fault_platform).get("services", {}).get(s, {}))
                             for s in SERVICES), interval=0.2, what="every service on START")
    mailbox = Mailbox(fault_platform.mail_dir)
    staff = anon.login(*DEV_STAFF)

    admin_email = "fault-admin@example.org"
    staff.post("/api/networks", {"name": "Réseau Panne", "admin": {
        "email": admin_email, "first_name": "Alice", "last_name": "Martin"}}, expect=201)
    admin_api = onboard(url, mailbox, admin_email, "Orange-Velvet-Canyon-31")
    admin_api.put("/api/network/settings", {"open_countries": ["FR"]})
    subscribe_by_card(admin_api, "annual")
    admin = Member(admin_api, admin_api.get("/api/me")["id"], admin_email)
    members = [admin]
    for i in range(3):
        addr = f"fault-member-{i}@example.org"
        admin_api.post("/api/network/members", {"email": addr, "first_name": "Bruno",
                                                "last_name": f"Durand{i}"}, expect=201)
        api = onboard(url, mailbox, addr, "Distinct-Violet-Pass-77")
        subscribe_by_card(api, "monthly")
        members.append(Member(api, api.get("/api/me")["id"], addr))

    # hand-drawn plans: 100 leads a day each, two of them competing for premium stock
    take_plans = [(buy_plan(m, 3000, tier, auto=False), m) for m, tier in (
        (members[0], "premium"), (members[1], "premium_plus"), (members[2], "standard"),
        (members[3], "premium"))]
    auto_plans = [(buy_plan(m, 1500, tier, auto=True), m) for m, tier in (
        (members[0], "premium"), (members[2], "standard"))]
    ids = [p for p, _ in take_plans + auto_plans]
    wait_for(lambda: query(
        fault_platform, "leads",
        "SELECT (SELECT count(*) FROM entitlements WHERE status = 'active' AND plan_id = ANY(%s))"
        " = %s AND (SELECT count(*) FROM offices WHERE active AND user_id = ANY(%s)) = %s",
        (ids, len(ids), [m.user_id for m in members], len(members)))[0][0],
        interval=0.2, what="leads knows every plan and office")
    return World(clock, staff, admin, members, take_plans, auto_plans)


# --- faults -----------------------------------------------------------------------------------


def health(fp: Any) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(fp.url + "/health", timeout=10) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return json.loads(err.read() or b"{}")
    except Exception:
        return {}


def all_healthy(fp: Any) -> bool:
    services = health(fp).get("services", {})
    return all(services.get(s, {}).get("status") == "ok" for s in SERVICES)


@dataclass
class Fault:
    label: str
    strike: Callable[[], None]


def kill_and_restart(fp: Any, name: str, rng: random.Random) -> Fault:
    def strike() -> None:
        fp.killing.add(name)
        try:
            fp.platform.kill(name)
            time.sleep(rng.uniform(0.2, 1.5))  # down for a moment, as after a crash
            fp.platform.restart(name)
        finally:
            fp.killing.discard(name)
        try:
            wait_for(lambda: all_healthy(fp), interval=0.2, what=f"{name} back")
        except AssertionError:
            raise AssertionError(f"{name} restarted but the platform does not answer: "
                                 f"{health(fp)}; {name}'s log: {fp.last_errors(name)}") from None
    return Fault(f"kill -9 {name}", strike)


def terminate_connections(fp: Any, service: str) -> Fault:
    theirs = ("FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
              "AND application_name <> %s")

    def connections() -> int:
        return int(query(fp, service, f"SELECT count(*) {theirs}",
                         (fp.db_name(service), fp.application_name))[0][0])

    def strike() -> None:
        wait_for(connections, interval=0.2, what=f"{service} connected to its database")  # e.g. just cut
        query(fp, service, f"SELECT pg_terminate_backend(pid) {theirs}",
              (fp.db_name(service), fp.application_name))
        wait_for(lambda: all_healthy(fp), interval=0.2, what=f"{service} answering again")
    return Fault(f"pg_terminate_backend {service}", strike)


# --- the stream -------------------------------------------------------------------------------


@dataclass
class Sizes:
    http_leads: int
    amqp_leads: int
    batch: int
    takes: int
    status_changes: int
    invites: int
    purchases: int


@dataclass
class Told:
    """What the platform answered (the clients' side of the accounting)."""

    http_persons: int = 0
    http_results: list[tuple[str, str]] = field(default_factory=list)  # (status, lead id)
    amqp_batches: set[str] = field(default_factory=set)  # confirmed message ids
    amqp_persons: int = 0
    taken: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # plan -> leads
    takes: int = 0
    status_changes: int = 0
    invited: list[str] = field(default_factory=list)
    bought: list[str] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)


class Stream:
    def __init__(self, fp: Any, world: World, ledger: Ledger, sizes: Sizes, faults: list[Fault],
                 seed: int, tag: str) -> None:
        self.fp, self.world, self.ledger, self.sizes, self.tag = fp, world, ledger, sizes, tag
        self.rng = random.Random(seed)
        self.seen, self.told = Seen(), Told()
        # sites of this stream's own, so that its captures can be counted apart
        self.http_site = world.staff.post("/api/staff/capture-sites", {
            "name": f"Formulaire {tag}", "url": "https://form.example"})
        self.amqp_site = world.staff.post("/api/staff/capture-sites", {
            "name": f"Flux {tag}", "url": "https://feed.example"})
        self.faults = faults
        self.rng.shuffle(self.faults)
        # seeded progress points (fractions of the stream's operations) for each fault
        self.moments = sorted(self.rng.uniform(0.05, 0.8) for _ in faults)
        self.total = (-(-sizes.http_leads // sizes.batch) + -(-sizes.amqp_leads // sizes.batch)
                      + sizes.takes + sizes.status_changes + sizes.invites + sizes.purchases)
        self.done = 0
        self.died: list[str] = []
        self.next_fault_at: float | None = None  # operations done when the next fault strikes
        self.pace = random.Random(seed + 1)  # timing only: what is done is drawn up front
        self.picks = random.Random(seed + 2)  # which delivered lead moves (what was taken)

    def client(self, member: Member | None = None) -> Client:
        return Client(self.fp.url, self.seen, member.api.token if member else None)

    def unexpected(self, route: str, status: int, body: Any) -> None:
        """An answer no client of this stream should get (server errors and give-ups are
        recorded by the client already)."""
        if 0 < status < 500:
            self.seen.unexpected.append(f"{route} -> {status}: {str(body)[:300]}")

    def tick(self, pace: float = 0.05) -> None:
        """One operation done. The stream does not run past the next fault's moment before
        that fault struck (it may wait for the previous one to end): every fault strikes
        mid-stream, with traffic around it, whatever the machine's speed."""
        self.done += 1
        time.sleep(self.pace.uniform(0, pace))
        while self.next_fault_at is not None and self.done >= self.next_fault_at:
            time.sleep(0.02)

    # workers ------------------------------------------------------------------------------

    def tiers(self, n: int) -> list[str]:
        return [self.rng.choice(("standard", "premium", "premium_plus")) for _ in range(n)]

    def http_capture(self, numbers: list[int], tiers: list[str]) -> None:
        c = self.client()
        key = self.http_site["key"]
        for start in range(0, len(numbers), self.sizes.batch):
            items = [lead_payload(i, t, self.world.clock.now() - timedelta(minutes=1))
                     for i, t in zip(numbers[start:start + self.sizes.batch],
                                     tiers[start:start + self.sizes.batch], strict=True)]
            status, body, _ = c.call("POST", "/api/capture/leads", {"leads": items},
                                     route="capture", headers={"X-Capture-Key": key})
            self.told.http_persons += len(items)
            if status == 200:
                self.told.http_results += [(r["status"], r.get("id", "")) for r in body["results"]]
            else:
                self.unexpected("capture", status, body)
            self.tick()

    def amqp_capture(self, numbers: list[int], tiers: list[str]) -> None:
        from leads.capture_client import CaptureClient

        key = self.amqp_site["key"]
        client = None
        for start in range(0, len(numbers), self.sizes.batch):
            items = [lead_payload(i, t, self.world.clock.now() - timedelta(minutes=1))
                     for i, t in zip(numbers[start:start + self.sizes.batch],
                                     tiers[start:start + self.sizes.batch], strict=True)]
            deadline = time.monotonic() + WAIT
            while True:  # the same batch again after a failure: same message id
                try:
                    client = client or CaptureClient(self.fp.capture_uri, key)
                    mid = client.publish(items)
                    self.told.amqp_batches.add(mid)
                    self.ledger.amqp_batches.add(mid)
                    break
                except Exception as exc:
                    client = None
                    if time.monotonic() > deadline:
                        self.seen.gave_up.append(f"amqp publish: {exc!r}")
                        break
                    time.sleep(0.2)
            self.told.amqp_persons += len(items)
            self.tick()
        if client is not None:
            client.close()

    def draw_takes(self, plans: list[tuple[str, Member]], count: int
                   ) -> list[tuple[str, Member, int]]:
        return [(*self.rng.choice(plans), self.rng.randint(1, 2)) for _ in range(count)]

    def taker(self, takes: list[tuple[str, Member, int]]) -> None:
        clients = {pid: self.client(m) for pid, m, _ in takes}
        for pid, member, most in takes:
            status, body, _ = clients[pid].call("POST", f"/api/plans/{pid}/take",
                                                {"max": most}, route="take")
            self.told.takes += 1
            if status == 200:
                for lead in body["leads"]:
                    self.told.taken[pid].add(lead["id"])
                    self.world.delivered.append((lead["id"], member))
            else:
                self.unexpected("take", status, body)
            self.tick()

    def status_changer(self, count: int) -> None:
        clients: dict[str, Client] = {}
        for _ in range(count):
            wait_for(lambda: self.world.delivered, interval=0.05, what="a lead to move")
            lead_id, member = self.picks.choice(self.world.delivered)
            done = self.ledger.status_set[lead_id]
            new = STATUSES[len(done) % 2]
            c = clients.setdefault(member.user_id, self.client(member))

            def moved(lead_id: str = lead_id, new: str = new, c: Client = c,
                      done: list[str] = done) -> bool:
                status, body, _ = c.call("POST", f"/api/leads/{lead_id}/status",
                                         {"status": new}, route="status")
                if status == 404:  # not filed in the office yet (lead_delivered in flight)
                    return False
                if status == 200:
                    done.append(new)
                else:
                    self.unexpected("status", status, body)
                return True
            wait_for(moved, interval=0.1, what=f"lead {lead_id} in its office")
            self.told.status_changes += 1
            self.tick()

    def inviter(self, count: int) -> None:
        c = self.client(self.world.admin)
        for n in range(count):
            addr = f"fault-{self.tag}-invite-{n}@example.org"
            status, body, retried = c.call("POST", "/api/network/members", {
                "email": addr, "first_name": "Chloé", "last_name": "Petit"}, route="invite")
            if status == 201 or (status == 409 and retried):  # retried after it went through
                self.told.invited.append(addr)
            else:
                self.unexpected("invite", status, body)
            self.tick(pace=0.5)

    def buyer(self, count: int) -> None:
        for n in range(count):
            member = self.world.members[1 + n % 3]
            c = self.client(member)
            status, plan, _ = c.call("POST", "/api/plans", {
                "records": 300, "tier": ("premium_plus", "standard")[n % 2], "country": "FR",
                "payment_method": "card"}, route="buy")
            if status != 201:
                self.unexpected("buy", status, plan)
                self.tick()
                continue
            self.pay(plan["payment"]["redirect_url"])
            def active(c: Client = c, pid: str = plan["id"]) -> bool:
                status, body, _ = c.call("GET", f"/api/plans/{pid}", route="plan")
                return status == 200 and body.get("status") == "active"
            wait_for(active, interval=0.2, what=f"bought plan {plan['id']} active")
            if n % 2 == 0:
                c.call("PUT", f"/api/plans/{plan['id']}/auto-delivery", {"enabled": True},
                       route="auto-delivery")
            self.told.bought.append(str(plan["id"]))
            self.tick()

    def pay(self, redirect_url: str) -> None:
        """The cardholder pays; the provider's callback may hit a gateway or an accounts
        that is down: paying again resends the very same callback."""
        session = requests.Session()
        session.trust_env = False

        def paid() -> bool:
            resp = session.post(f"{redirect_url}/complete", params={"outcome": "succeeded"},
                                headers={"Accept": "application/json"}, timeout=30)
            resp.raise_for_status()
            return 200 <= (resp.json().get("callback_status") or 0) < 300
        wait_for(paid, interval=0.5, what="the card callback to land")

    def fault_runner(self) -> None:
        for moment, fault in zip(self.moments, self.faults, strict=True):
            self.next_fault_at = moment * self.total
            wait_for(lambda m=moment: self.done >= m * self.total, timeout=STREAM_BUDGET,
                     interval=0.02, what=f"progress {moment:.2f}")
            self.told.faults.append(f"{fault.label} at {self.done}/{self.total}")
            later = [m for m in self.moments if m > moment]
            self.next_fault_at = later[0] * self.total if later else None
            fault.strike()

    # running ------------------------------------------------------------------------------

    def run(self) -> None:
        s = self.sizes
        http = list(self.world.lead_numbers(s.http_leads))
        amqp = list(self.world.lead_numbers(s.amqp_leads))
        half = len(http) // 2
        http_tiers, amqp_tiers = self.tiers(len(http)), self.tiers(len(amqp))
        plans = self.world.take_plans
        jobs = [
            eventlet.spawn(self.http_capture, http[:half], http_tiers[:half]),
            eventlet.spawn(self.http_capture, http[half:], http_tiers[half:]),
            eventlet.spawn(self.amqp_capture, amqp, amqp_tiers),
            eventlet.spawn(self.taker, self.draw_takes(plans[:2], s.takes // 2)),
            eventlet.spawn(self.taker, self.draw_takes(plans[2:], s.takes - s.takes // 2)),
            eventlet.spawn(self.status_changer, s.status_changes),
            eventlet.spawn(self.inviter, s.invites),
            eventlet.spawn(self.buyer, s.purchases),
        ]
        jobs.append(eventlet.spawn(self.fault_runner))
        started = time.monotonic()
        try:
            self.wait(jobs, started + STREAM_BUDGET)
        except BaseException as exc:
            for job in jobs:
                job.kill()
            reason = f"a process died: {self.died}" if self.died else repr(exc)
            critical = {name: errors for name, _ in self.fp.platform.processes
                        if (errors := self.fp.last_errors(name))}
            raise AssertionError(
                f"stream failed at {self.done}/{self.total} operations: {reason}\n"
                f"faults: {self.told.faults}\nhealth: {health(self.fp) or 'no answer'}\n"
                f"errors in logs: {critical}\nseen: {self.seen}") from exc
        self.seconds = time.monotonic() - started

    def wait(self, jobs: list[Any], deadline: float) -> None:
        """Until every job is done. The first one to fail fails the stream at once (a fault
        that found the platform broken, say), and so does a process that exits on its own
        (not one a fault killed): no client waits out its deadline in vain."""
        while True:
            for job in jobs:
                if job.dead:
                    job.wait()  # raises what the job raised
            if all(job.dead for job in jobs):
                return
            self.died = self.fp.dead()
            if self.died:
                raise AssertionError(f"a process died: {self.died}")
            if time.monotonic() > deadline:
                raise AssertionError(f"still running after {STREAM_BUDGET:.0f} s")
            time.sleep(0.2)


# --- the accounting ---------------------------------------------------------------------------


def reliable_consumers() -> dict[str, tuple[str, str]]:
    """``{inbox handler name: (source service, event type)}`` of every reliable handler."""
    from accounts.service import AccountsService
    from compliance.service import ComplianceService
    from leads.service import LeadsService
    from mailer.service import MailerService
    from plans.service import PlansService
    from suivi_common.consumer import ReliableEventHandler

    out = {}
    for cls in (AccountsService, PlansService, LeadsService, MailerService, ComplianceService):
        for name in dir(cls):
            for ep in getattr(getattr(cls, name, None), "nameko_entrypoints", ()):
                if isinstance(ep, ReliableEventHandler):
                    out[f"{cls.name}.{name}"] = (ep.source_service, ep.event_type)
    return out


def busy_queues(fp: Any) -> dict[str, int]:
    """Queues of the platform's vhost still holding messages (ready or unacked)."""
    out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", fp.platform.vhost, "name",
                          "messages"], capture_output=True, text=True, check=True).stdout
    busy = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and int(parts[1]) > 0 \
                and parts[0] != fp.audit.queue and not parts[0].startswith("rpc.reply"):
            busy[parts[0]] = int(parts[1])
    return busy


def outbox_rows(fp: Any) -> dict[str, int]:
    rows = {s: query(fp, s, "SELECT count(*) FROM outbox")[0][0] for s in SERVICES}
    return {s: n for s, n in rows.items() if n}


@dataclass
class Ledger:
    """Every event published so far (from the audit queue), across the module's tests."""

    events: list[tuple[str, str, str]] = field(default_factory=list)
    amqp_batches: set[str] = field(default_factory=set)  # confirmed message ids
    status_set: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def ids(self, source: str, event_type: str) -> set[str]:
        return {m for s, t, m in self.events if s == source and t == event_type}


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return Ledger()


def drain(fp: Any, ledger: Ledger) -> None:
    """Wait until every outbox is published, every queue consumed, and every lead sold by
    auto-delivery moved to its buyer's key (leads does it shortly after, on a timer)."""
    state: dict[str, Any] = {}

    def quiet() -> bool:
        ledger.events += fp.audit.drain()
        state.update(outbox=outbox_rows(fp), queues=busy_queues(fp), to_rekey=query(
            fp, "leads", "SELECT count(*) FROM deliveries WHERE rekeyed_at IS NULL")[0][0])
        return not state["outbox"] and not state["queues"] and not state["to_rekey"]
    try:
        wait_for(quiet, timeout=2 * WAIT, interval=0.5, what="the stream to drain")
    except AssertionError:
        raise AssertionError(f"not drained: {state}") from None


def check(fp: Any, stream: Stream, ledger: Ledger) -> tuple[list[str], dict[str, Any]]:
    """Problems found (empty: nothing lost, nothing twice) and a summary of the counts."""
    problems: list[str] = []
    told = stream.told
    leads = lambda sql, params=None: query(fp, "leads", sql, params)  # noqa: E731
    http_site, amqp_site = stream.http_site["id"], stream.amqp_site["id"]

    # every accepted capture is in stock or sold, exactly once
    per_site = Counter({(str(site), status): n for site, status, n in leads(
        "SELECT capture_site_id, status, count(*) FROM leads GROUP BY 1, 2")})
    accepted_http = per_site[(http_site, "accepted")]
    accepted_amqp = per_site[(amqp_site, "accepted")]
    if accepted_http != told.http_persons:
        problems.append(f"HTTP: {told.http_persons} people sent, {accepted_http} accepted leads")
    if accepted_amqp != told.amqp_persons:
        problems.append(f"AMQP: {told.amqp_persons} people sent, {accepted_amqp} accepted leads")
    if per_site[(amqp_site, "duplicate")]:
        problems.append(f"AMQP: {per_site[(amqp_site, 'duplicate')]} duplicates (a message "
                        "stored twice)")
    answers = Counter(s for s, _ in told.http_results)
    if len(told.http_results) != told.http_persons or set(answers) - {"accepted", "duplicate"}:
        problems.append(f"HTTP: {len(told.http_results)} answers for {told.http_persons} people "
                        f"({dict(answers)})")
    rows = {str(i): (s, str(d) if d else None, str(site)) for i, s, d, site in leads(
        "SELECT id, status, duplicate_of, capture_site_id FROM leads WHERE id = ANY(%s)",
        ([i for s, i in told.http_results],))}
    resolved = set()
    for status, lead_id in told.http_results:
        row = rows.get(lead_id)
        if row is None or row[0] != status or row[2] != http_site:
            problems.append(f"HTTP answer {status} {lead_id} but the row is {row}")
            continue
        resolved.add(lead_id if status == "accepted" else row[1])
    if len(resolved) != told.http_persons:
        problems.append(f"HTTP: {told.http_persons} people resolve to {len(resolved)} leads")
    lost, both, wrong = leads("""
        SELECT count(*) FILTER (WHERE l.status = 'accepted' AND s.lead_id IS NULL
                                  AND d.lead_id IS NULL),
               count(*) FILTER (WHERE s.lead_id IS NOT NULL AND d.lead_id IS NOT NULL),
               count(*) FILTER (WHERE l.status <> 'accepted'
                                  AND (s.lead_id IS NOT NULL OR d.lead_id IS NOT NULL))
        FROM leads l LEFT JOIN stock s ON s.lead_id = l.id LEFT JOIN deliveries d
        ON d.lead_id = l.id""")[0]
    if lost or both or wrong:
        problems.append(f"stock: {lost} accepted leads neither in stock nor sold, {both} both, "
                        f"{wrong} duplicates in stock or sold")

    # no lead sold twice: one delivery per lead (primary key), one office lead per delivery
    sold, sold_take, sold_auto = leads(
        "SELECT count(*), count(*) FILTER (WHERE via = 'take'), count(*) FILTER (WHERE via = "
        "'auto') FROM deliveries")[0]
    unfiled, strays = leads("""
        SELECT (SELECT count(*) FROM deliveries d LEFT JOIN office_leads o ON o.id = d.lead_id
                WHERE o.id IS NULL OR o.owner_id <> d.user_id OR o.plan_id <> d.plan_id),
               (SELECT count(*) FROM office_leads o WHERE origin = 'purchased'
                AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.lead_id = o.id))""")[0]
    if unfiled or strays:
        problems.append(f"office: {unfiled} deliveries not filed with their buyer, {strays} "
                        "purchased office leads without a delivery")
    unkeyed, blank = leads("""
        SELECT (SELECT count(*) FROM deliveries d JOIN leads l ON l.id = d.lead_id
                WHERE d.rekeyed_at IS NULL OR l.key_scope <> d.network_id),
               (SELECT count(*) FROM office_leads o JOIN deliveries d ON d.lead_id = o.id
                WHERE o.data IS NULL OR o.erased_at IS NOT NULL)""")[0]
    if unkeyed or blank:
        problems.append(f"{unkeyed} sold leads not moved to their buyer's key, {blank} office "
                        "leads delivered without their data")
    mismatched = leads("""
        SELECT count(*) FROM deliveries d JOIN leads l ON l.id = d.lead_id
        JOIN entitlements e ON e.plan_id = d.plan_id
        WHERE l.country <> e.country OR l.tier <> e.tier""")[0][0]
    if mismatched:
        problems.append(f"{mismatched} leads sold to a plan of another country or tier")
    for pid, leads_told in told.taken.items():
        got = {str(r[0]) for r in leads("SELECT lead_id FROM deliveries WHERE plan_id = %s AND "
                                        "via = 'take'", (pid,))}
        if leads_told - got:
            problems.append(f"plan {pid}: {len(leads_told - got)} leads handed out by a take "
                            "are not its deliveries")

    # each plan's taken equals its delivery rows, and never exceeds its quota
    books = leads("""
        SELECT coalesce(p.plan_id, d.plan_id), coalesce(p.day, d.day), coalesce(p.taken, 0),
               coalesce(d.n, 0)
        FROM plan_days p FULL JOIN (SELECT plan_id, day, count(*) AS n FROM deliveries
                                    GROUP BY 1, 2) d ON d.plan_id = p.plan_id AND d.day = p.day
        WHERE coalesce(p.taken, 0) <> coalesce(d.n, 0)""")
    problems += [f"plan {p} on {d}: taken {t}, {n} deliveries" for p, d, t, n in books]
    over = leads("""
        SELECT d.plan_id, d.day, count(*), max((e.quota_schedule ->> CAST(d.day AS text))::int)
        FROM deliveries d JOIN entitlements e USING (plan_id) GROUP BY 1, 2
        HAVING count(*) > coalesce(max((e.quota_schedule ->> CAST(d.day AS text))::int), 0)""")
    problems += [f"plan {p} on {d}: {n} sold over a quota of {q}" for p, d, n, q in over]

    # office status changes: the last one asked is the status, each one recorded once
    for lead_id, asked in ledger.status_set.items():
        status, changes = leads("""
            SELECT o.status, (SELECT count(*) FROM office_history h WHERE h.lead_id = o.id
                              AND h.field = 'status' AND h.via = 'status')
            FROM office_leads o WHERE o.id = %s""", (lead_id,))[0]
        if status != asked[-1] or changes != len(asked):
            problems.append(f"lead {lead_id}: asked {asked}, status {status} after {changes} "
                            "recorded changes")

    # plans and leads agree: every plan's newest snapshot reached leads
    plan_rows = {str(i): (s, v, pay) for i, s, v, pay in query(
        fp, "plans", "SELECT id, status, version, payment_id FROM plans")}
    ents = {p: (s, v) for p, s, v in leads("SELECT plan_id, status, version FROM entitlements")}
    for pid, (status, version, _) in plan_rows.items():
        if status != "pending_payment" and ents.get(pid) != (status, version):
            problems.append(f"plan {pid} is {status} v{version} in plans, {ents.get(pid)} in "
                            "leads")
    validated = {str(i) for i, in query(fp, "accounts", "SELECT id FROM payments WHERE status ="
                                                        " 'validated' AND order_type = 'plan'")}
    for pid, (status, _, pay) in plan_rows.items():
        if pay in validated and status == "pending_payment":
            problems.append(f"plan {pid}: payment {pay} validated, plan still pending")
    for pid in told.bought:
        if plan_rows.get(pid, ("?",))[0] != "active":
            problems.append(f"bought plan {pid} is {plan_rows.get(pid)}")

    # every event applied exactly once by each consumer, none left over or dead-lettered
    published = Counter(m for _, _, m in ledger.events)
    inbox: dict[str, set[str]] = defaultdict(set)
    for service in SERVICES:
        for handler, mid in query(fp, service, "SELECT handler, message_id FROM inbox"):
            inbox[handler].add(mid)
        for handler, n in query(fp, service, "SELECT handler, count(*) FROM dead_letters "
                                             "GROUP BY 1"):
            problems.append(f"{n} dead letters for {handler}")
    late = fp.audit.drain()  # published after the drain: may be consumed or not yet
    ledger.events += late
    for handler, (source, event_type) in sorted(reliable_consumers().items()):
        expected = {m for s, t, m in ledger.events[:len(ledger.events) - len(late)]
                    if s == source and t == event_type}
        known = ledger.ids(source, event_type)
        got = inbox.pop(handler, set())
        if expected - got:
            problems.append(f"{handler}: {len(expected - got)} of {len(expected)} "
                            f"{source}.{event_type} events never applied")
        if got - known:
            problems.append(f"{handler}: {len(got - known)} inbox rows for events never "
                            "published")
    capture_inbox = len(inbox.pop("leads.capture_from_queue", set()))
    if capture_inbox != len(ledger.amqp_batches):
        problems.append(f"AMQP: {len(ledger.amqp_batches)} batches confirmed, {capture_inbox} "
                        "consumed")
    if inbox:
        problems.append(f"inbox rows of unknown handlers: {sorted(inbox)}")

    # no email twice: one .eml per Message-ID, one per mail sent, each invitation once
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in sorted(fp.mail_dir.glob("*.eml"))]
    # a long Message-ID is folded onto its own line; unfolded it keeps the leading blank
    by_id = Counter(str(m["Message-ID"]).strip() for m in mails)
    twice = {k: n for k, n in by_id.items() if n > 1}
    if twice:
        problems.append(f"{len(twice)} emails reached the sink more than once: {twice}")
    ledger_ids = {r[0] for r in query(fp, "mailer", "SELECT smtp_message_id FROM sent_emails")}
    if set(by_id) != ledger_ids:
        problems.append(f"sink and mailer ledger differ: {len(set(by_id) - ledger_ids)} mails "
                        f"not in the ledger, {len(ledger_ids - set(by_id))} sent but not in the "
                        "sink")
    to = Counter(str(m["To"]).lower() for m in mails)
    for addr in told.invited:
        if not any(addr in k for k in to):
            problems.append(f"no invitation mail to {addr}")

    summary = {
        "faults": told.faults, "http_people": told.http_persons, "amqp_people": told.amqp_persons,
        "amqp_batches": len(told.amqp_batches), "takes": told.takes,
        "taken_by_hand_told": sum(len(v) for v in told.taken.values()), "sold": sold,
        "sold_take": sold_take, "sold_auto": sold_auto,
        "status_changes": told.status_changes,
        "invited": len(told.invited), "bought": len(told.bought), "mails": len(mails),
        "events": len(published), "republished": sum(n - 1 for n in published.values()),
        "http_duplicates_told": answers["duplicate"],
    }
    return problems, summary


def assert_clean(fp: Any, stream: Stream, ledger: Ledger) -> dict[str, Any]:
    started = time.monotonic()
    drain(fp, ledger)
    drained = time.monotonic() - started
    problems, summary = check(fp, stream, ledger)
    seen = stream.seen
    problems += [f"server error: {e}" for e in seen.server_errors[:20]]
    problems += [f"unexpected answer: {e}" for e in seen.unexpected[:20]]
    problems += [f"gave up: {e}" for e in seen.gave_up[:20]]
    dead = [n for n, proc in fp.platform.processes if proc.poll() is not None]
    if dead:
        problems.append(f"processes died: {dead}")
    summary.update(stream_seconds=round(stream.seconds, 1), drain_seconds=round(drained, 1),
                   connection_errors=seen.connection_errors, retried=seen.retried,
                   statuses=dict(Counter({f"{r} {s}": n for (r, s), n in seen.statuses.items()})))
    assert not problems, "\n".join([*problems, f"summary: {json.dumps(summary, default=str)}"])
    return summary


# --- the tests --------------------------------------------------------------------------------


def test_killing_each_process_mid_stream_loses_nothing(fault_platform: Any, world: World,
                                                       ledger: Ledger) -> None:
    assert not fault_platform.dead(), fault_platform.dead()
    rng = random.Random(SEED)
    faults = [kill_and_restart(fault_platform, name, rng) for _ in range(ROUNDS)
              for name in ("accounts-0", "plans-0", "leads-0", "mailer-0", "gateway")]
    stream = Stream(fault_platform, world, ledger, Sizes(http_leads=1000, amqp_leads=1000, batch=20,
                                                 takes=200, status_changes=50, invites=8,
                                                 purchases=2),
                    faults, seed=SEED, tag="kill")
    stream.run()
    summary = assert_clean(fault_platform, stream, ledger)
    print(f"\nkill test: {json.dumps(summary, default=str)}")


def test_database_connections_cut_mid_stream_lose_nothing(fault_platform: Any, world: World,
                                                          ledger: Ledger) -> None:
    assert not fault_platform.dead(), fault_platform.dead()
    assert all_healthy(fault_platform), \
        f"platform not healthy: {health(fault_platform) or 'the gateway does not answer'}"
    pids = {name: proc.pid for name, proc in fault_platform.platform.processes}
    faults = [terminate_connections(fault_platform, s) for _ in range(ROUNDS)
              for s in ("leads", "plans", "accounts", "mailer", "leads")]
    stream = Stream(fault_platform, world, ledger, Sizes(http_leads=300, amqp_leads=300, batch=20,
                                                 takes=60, status_changes=20, invites=4,
                                                 purchases=2),
                    faults, seed=SEED + 1, tag="db")
    stream.run()
    summary = assert_clean(fault_platform, stream, ledger)
    assert {name: proc.pid for name, proc in fault_platform.platform.processes} == pids
    print(f"\ndatabase faults: {json.dumps(summary, default=str)}")
