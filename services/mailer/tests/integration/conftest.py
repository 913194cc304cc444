"""Real PostgreSQL, RabbitMQ and SMTP (aiosmtpd) for the mailer's integration tests, with
a small fake ``accounts`` that hands out set-password links by reference (the real one
derives them; see accounts' ``password_tokens``) and answers ``get_user``,
``office_active`` and ``register_controllers``, a small fake ``leads`` that answers
``lead_contact``, ``breach_subject_contact`` and the pipeline, and records the
``lead_email_sent`` events the mailer emits, and a small fake ``compliance`` that answers
``dsr_subject`` and records the ``dsr_task_reported`` and ``breach_notice_sent`` events."""
from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from nameko.events import event_handler
from nameko.rpc import rpc
from sqlalchemy import create_engine, select

import mailer
from mailer.models import mail_networks, metadata, sent_emails
from suivi_common import clock
from suivi_common.auth import CurrentPrincipal, Principal
from suivi_common.errors import EXPECTED_ERRORS, Conflict, Forbidden, NotFound, ServiceUnavailable
from suivi_common.rpc import RpcClient
from suivi_common.testing import infra
from suivi_common.testing.messages import publish_event as publish_signed
from suivi_common.testing.waiting import broker_settled, wait_for

MIGRATIONS = Path(mailer.__file__).parent / "migrations"
STAFF = {"user_id": "s", "role": "staff"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    rcpt_tos: list[str]
    message: EmailMessage
    at: float


@dataclass
class SmtpServer:
    """A real SMTP server (aiosmtpd) that keeps what it accepts; start/stop at will."""
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    refuse_rcpt: set[str] = field(default_factory=set)
    #: recipients answered "try again later" (451): the email waits for its retry
    defer_rcpt: set[str] = field(default_factory=set)
    #: recipients whose first message is kept, then answered only once the recipient is
    #: removed from this set (a sender stuck mid-send, to be killed or overtaken)
    hold: set[str] = field(default_factory=set)
    controller: Controller | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        if address in self.defer_rcpt:
            return f"451 4.3.0 <{address}>: Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content or envelope.content,
                                    policy=policy.default)
        first = not any(set(r.rcpt_tos) & set(envelope.rcpt_tos) for r in self.received)
        self.received.append(Received(list(envelope.rcpt_tos), parsed, time.monotonic()))
        while first and self.hold & set(envelope.rcpt_tos):
            await asyncio.sleep(0.02)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                     enable_SMTPUTF8=True)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """Unreachable for the block (an email sent then waits for its retry), up after."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]


@pytest.fixture(scope="session")
def db_url() -> str:
    return infra.fresh_database("mailer", MIGRATIONS)


@pytest.fixture
def clean_db(db_url: str) -> str:
    infra.truncate_all(db_url, metadata)
    return db_url


@pytest.fixture
def vhost() -> Iterator[str]:
    name = infra.fresh_vhost()
    yield name
    infra.delete_vhost(name)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.stop()


#: Long enough that no send on a loaded machine outlives it; the tests that need a lease to
#: run out move the platform clock past it (``clock.advance``).
LEASE_SECONDS = 120


def mailer_config(vhost: str, db_url: str, smtp_port: int) -> dict[str, Any]:
    return infra.base_config(vhost, DATABASE_URL=db_url, SMTP_HOST="127.0.0.1",
                             SMTP_PORT=smtp_port, SMTP_TIMEOUT_SECONDS=5,
                             EVENT_RETRY_DELAYS_MS=[200, 400, 800],
                             MAIL_FROM="Suivi <no-reply@suivi.test>",
                             PUBLIC_URL="https://app.suivi.test",
                             LEAD_MAIL_TIMER_SECONDS=0.1, LEAD_MAIL_RETRY_SECONDS=[0.2, 0.4],
                             LEAD_MAIL_LEASE_SECONDS=LEASE_SECONDS, LEAD_MAIL_DISPATCH_SECONDS=0.1)


@pytest.fixture
def past_the_lease() -> Callable[[], None]:
    """Moves the platform clock past a claim's lease, as a dead sender's silence would."""
    return lambda: clock.advance(timedelta(seconds=LEASE_SECONDS + 1))


@pytest.fixture
def config_for() -> Callable[..., dict[str, Any]]:
    return mailer_config


def publish_event(amqp_uri: str, event_type: str, payload: dict[str, Any],
                  message_id: str | None = None) -> str:
    """Publish an accounts event the way its outbox relay does (signed as accounts)."""
    return publish_signed(amqp_uri, "accounts", event_type, payload, message_id)


#: What the fake accounts answers: link reference -> {set_password_url, expires_at}; a
#: reference it does not hold is one it would refuse (used, replaced or expired).
LINKS: dict[str, dict[str, Any]] = {}
#: Who asked for a link, one principal per ask.
ASKED: list[Principal | None] = []


#: user id -> what accounts' ``get_user`` answers; users whose office is closed.
USERS: dict[str, dict[str, Any]] = {}
CLOSED_OFFICES: set[str] = set()
#: lead id -> what leads' ``lead_contact`` answers (absent: unknown or erased).
LEADS: dict[str, dict[str, Any]] = {}
#: lead id -> how many more ``lead_contact`` calls answer ServiceUnavailable (leads' own
#: database gone, say).
UNAVAILABLE_LEADS: dict[str, int] = {}
#: (breach id, lead id) -> what leads' ``breach_subject_contact`` answers (absent: NotFound,
#: as for a person not requested or erased since); who asked, per call.
BREACH_CONTACTS: dict[tuple[str, str], dict[str, Any]] = {}
BREACH_ASKED: list[tuple[str, str, Principal | None]] = []
#: network id -> its pipeline's statuses (the default one otherwise).
PIPELINES: dict[str, list[str]] = {}
DEFAULT_STATUSES = ["new", "contacted", "meeting", "client", "distributor", "not_interested"]
#: ``lead_email_sent`` events as leads received them.
SENT_EVENTS: list[dict[str, Any]] = []
#: What the fake accounts' ``register_controllers`` lists (``{user_id, network_id, name,
#: email}``), and who asked.
CONTROLLERS: list[dict[str, Any]] = []
REGISTER_ASKED: list[Principal | None] = []
#: request id -> what compliance's ``dsr_subject`` answers (absent: no open task, a 404);
#: who asked; the mailer's reports and breach notice results as compliance received them.
SUBJECTS: dict[str, dict[str, Any]] = {}
SUBJECT_ASKED: list[tuple[str, Principal | None]] = []
DSR_REPORTS: list[dict[str, Any]] = []
NOTICE_REPORTS: list[dict[str, Any]] = []
#: the mailer's end-of-contract answers: (event type, payload)
EOC_REPORTS: list[tuple[str, dict[str, Any]]] = []


class FakeAccounts:
    name = "accounts"
    principal = CurrentPrincipal()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def password_link(self, link_ref: str) -> dict[str, Any]:
        ASKED.append(self.principal)
        if link_ref not in LINKS:
            raise Conflict("This link was used, replaced or has expired", code="link_unusable")
        return LINKS[link_ref]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_user(self, user_id: str) -> dict[str, Any]:
        if user_id not in USERS:
            raise NotFound("No such user")
        return USERS[user_id]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def office_active(self, user_id: str) -> bool:
        return user_id in USERS and user_id not in CLOSED_OFFICES

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def senders(self, user_ids: list[str]) -> dict[str, Any]:
        """The contract accounts implements (``queries.senders``), for services only."""
        if self.principal is None or not self.principal.is_service:
            raise Forbidden("internal", code="internal_only")
        return {u: {"user": USERS[u], "office_active": u not in CLOSED_OFFICES}
                for u in user_ids if u in USERS}

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def register_controllers(self) -> dict[str, Any]:
        """The contract accounts implements: ``{count, items: [{user_id, network_id, name,
        email}]}``, for services only."""
        REGISTER_ASKED.append(self.principal)
        if self.principal is None or not self.principal.is_service:
            raise Forbidden("internal", code="internal_only")
        return {"count": len(CONTROLLERS), "items": list(CONTROLLERS)}


class FakeCompliance:
    name = "compliance"
    principal = CurrentPrincipal()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def dsr_subject(self, request_id: str) -> dict[str, Any]:
        SUBJECT_ASKED.append((request_id, self.principal))
        if self.principal is None or self.principal.user_id != "mailer" \
                or not self.principal.is_service:
            raise Forbidden("internal", code="internal_only")
        if request_id not in SUBJECTS:
            raise NotFound("No open task of this service on this request")
        return SUBJECTS[request_id]

    @event_handler("mailer", "dsr_task_reported")
    def on_dsr_task_reported(self, payload: dict[str, Any]) -> None:
        DSR_REPORTS.append(payload)

    @event_handler("mailer", "breach_notice_sent")
    def on_breach_notice_sent(self, payload: dict[str, Any]) -> None:
        NOTICE_REPORTS.append(payload)

    @event_handler("mailer", "controller_data_reported")
    def on_controller_data_reported(self, payload: dict[str, Any]) -> None:
        EOC_REPORTS.append(("controller_data_reported", payload))

    @event_handler("mailer", "controller_data_shredded")
    def on_controller_data_shredded(self, payload: dict[str, Any]) -> None:
        EOC_REPORTS.append(("controller_data_shredded", payload))


class FakeLeads:
    name = "leads"
    principal = CurrentPrincipal()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def lead_contact(self, lead_id: str) -> dict[str, Any]:
        if self.principal is None or not self.principal.is_service:
            raise NotFound("internal")
        if UNAVAILABLE_LEADS.get(lead_id, 0) > 0:
            UNAVAILABLE_LEADS[lead_id] -= 1
            raise ServiceUnavailable("leads cannot answer right now")
        if lead_id not in LEADS:
            raise NotFound("No such lead")
        return LEADS[lead_id]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def lead_contacts(self, lead_ids: list[str]) -> dict[str, Any]:
        """The contract leads implements (``mailing.contacts``): a gone lead is absent."""
        if self.principal is None or not self.principal.is_service:
            raise Forbidden("internal", code="internal_only")
        down = [lid for lid in lead_ids if UNAVAILABLE_LEADS.get(lid, 0) > 0]
        for lid in down:
            UNAVAILABLE_LEADS[lid] -= 1
        if down:
            raise ServiceUnavailable("leads cannot answer right now")
        return {lid: LEADS[lid] for lid in lead_ids if lid in LEADS}

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def breach_subject_contact(self, breach_id: str, lead_id: str) -> dict[str, Any]:
        """The contract leads implements (``usecases.breaches.subject_contact``), internal."""
        BREACH_ASKED.append((breach_id, lead_id, self.principal))
        if self.principal is None or not self.principal.is_service:
            raise Forbidden("internal", code="internal_only")
        if (breach_id, lead_id) not in BREACH_CONTACTS:
            raise NotFound("No such person to notify")
        return BREACH_CONTACTS[(breach_id, lead_id)]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def office_get_pipeline(self) -> dict[str, Any]:
        assert self.principal is not None and self.principal.network_id
        statuses = PIPELINES.get(self.principal.network_id, DEFAULT_STATUSES)
        return {"statuses": statuses, "initial": statuses[0], "terminal": []}

    @event_handler("mailer", "lead_email_sent")
    def on_lead_email_sent(self, payload: dict[str, Any]) -> None:
        SENT_EVENTS.append(payload)


@pytest.fixture
def links() -> Iterator[dict[str, dict[str, Any]]]:
    LINKS.clear()
    ASKED.clear()
    yield LINKS
    LINKS.clear()


@pytest.fixture
def asked() -> list[Principal | None]:
    return ASKED


@pytest.fixture
def fake_accounts() -> type:
    return FakeAccounts


@pytest.fixture
def publish() -> Callable[..., str]:
    return publish_event


def ledger(url: str) -> list[dict[str, Any]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(sent_emails))]
    engine.dispose()
    return rows


@pytest.fixture
def read_ledger() -> Callable[[str], list[dict[str, Any]]]:
    return ledger


@pytest.fixture
def until() -> Callable[..., Any]:
    return wait_for


@pytest.fixture
def new_smtp_server() -> Callable[[], SmtpServer]:
    return SmtpServer


@pytest.fixture
def staff() -> dict[str, str]:
    return dict(STAFF)


@dataclass
class LiveMailer:
    cfg: dict[str, Any]
    smtp: SmtpServer
    db_url: str

    def publish(self, event_type: str, payload: dict[str, Any],
                message_id: str | None = None) -> str:
        return publish_event(self.cfg["AMQP_URI"], event_type, payload, message_id)

    def publish_as(self, source: str, event_type: str, payload: dict[str, Any],
                   message_id: str | None = None) -> str:
        """Publish an event of another service (or the mailer's own), signed as it."""
        return publish_signed(self.cfg["AMQP_URI"], source, event_type, payload, message_id)

    def settled(self) -> bool:
        """Every event published so far has been handled and acked (retries included)."""
        return broker_settled(self.cfg["AMQP_URI"].rsplit("/", 1)[-1])


@pytest.fixture(scope="module")
def live_mailer(db_url: str) -> Iterator[LiveMailer]:
    """One running MailerService (own vhost, clean database) with a live SMTP server,
    shared by a module's tests; each test uses its own addresses and message ids."""
    from mailer.service import MailerService

    infra.truncate_all(db_url, metadata)
    name = infra.fresh_vhost()
    server = SmtpServer()
    server.start()
    cfg = mailer_config(name, db_url, server.port)
    try:
        with infra.running(cfg, MailerService, FakeAccounts, FakeLeads, FakeCompliance):
            yield LiveMailer(cfg, server, db_url)
    finally:
        server.stop()
        infra.delete_vhost(name)


# --- emails to leads -----------------------------------------------------------------------

def table_rows(url: str, table: Any, *where: Any) -> list[dict[str, Any]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(table).where(*where))]
    engine.dispose()
    return rows


@pytest.fixture
def read_rows() -> Callable[..., list[dict[str, Any]]]:
    return table_rows


@dataclass
class Office:
    """A network (announced by accounts), its admin and a member, as the fakes know them;
    leads given to the member, moved and erased as leads would announce it."""
    live: LiveMailer
    network_id: str
    admin: Principal
    user: Principal

    def rpc(self, who: Principal | None = None) -> RpcClient:
        return RpcClient(self.live.cfg["AMQP_URI"], principal=who or self.user)

    def send(self, lead: dict[str, Any]) -> dict[str, Any]:
        """The member sends ``lead`` a plain email (no template)."""
        with self.rpc() as rpc:
            return dict(rpc.mailer.send_lead_email(lead["lead_id"], None, "s", "b"))

    def lead(self, owner: Principal | None = None, email: str | None = "",
             status: str = "new", **over: Any) -> dict[str, Any]:
        lead_id = str(uuid.uuid4())
        owner = owner or self.user
        LEADS[lead_id] = {"lead_id": lead_id, "owner_id": owner.user_id,
                          "network_id": owner.network_id,
                          "email": f"lead.{lead_id[:8]}@example.test" if email == "" else email,
                          "first_name": "Camille", "last_name": "Lefèvre", "city": "Lille",
                          "status": status, "office_kind": "personal", **over}
        return LEADS[lead_id]

    def move(self, lead: dict[str, Any], new_status: str, cause: str = "status_change",
             message_id: str | None = None, changed_at: str | None = None) -> str:
        old = lead["status"]
        lead["status"] = new_status
        return publish_signed(self.live.cfg["AMQP_URI"], "leads", "lead_status_changed", {
            "lead_id": lead["lead_id"], "user_id": lead["owner_id"],
            "network_id": lead["network_id"], "old_status": old, "new_status": new_status,
            "changed_at": changed_at or clock.now().isoformat(), "cause": cause}, message_id)

    def erase(self, lead: dict[str, Any]) -> str:
        LEADS.pop(lead["lead_id"], None)
        return publish_signed(self.live.cfg["AMQP_URI"], "leads", "lead_erased", {
            "lead_id": lead["lead_id"], "user_id": lead["owner_id"],
            "network_id": lead["network_id"], "erased_at": clock.now().isoformat()})

    def erase_batch(self, leads: list[dict[str, Any]], reason: str = "owner",
                    message_id: str | None = None) -> str:
        """Leads wiped by the owner or retention (``office_leads_erased``, one owner)."""
        for lead in leads:
            LEADS.pop(lead["lead_id"], None)
        return publish_signed(self.live.cfg["AMQP_URI"], "leads", "office_leads_erased", {
            "user_id": self.user.user_id, "network_id": self.network_id,
            "lead_ids": [lead["lead_id"] for lead in leads], "reason": reason,
            "erased_at": clock.now().isoformat()}, message_id)

    def breach_contact(self, breach_id: str, lead: dict[str, Any]) -> dict[str, Any]:
        """Leads requested ``lead`` for ``breach_id``: ``breach_subject_contact`` answers."""
        BREACH_CONTACTS[(breach_id, lead["lead_id"])] = {
            "breach_id": breach_id, "lead_id": lead["lead_id"], "user_id": lead["owner_id"],
            "email": lead["email"], "first_name": lead["first_name"],
            "last_name": lead["last_name"]}
        return BREACH_CONTACTS[(breach_id, lead["lead_id"])]

    def breach_asked(self, breach_id: str) -> list[tuple[str, Principal | None]]:
        return [(lid, p) for bid, lid, p in BREACH_ASKED if bid == breach_id]

    def member(self, first_name: str = "Bruno") -> Principal:
        uid = str(uuid.uuid4())
        USERS[uid] = {"id": uid, "role": "user", "network_id": self.network_id, "status": "active",
                      "first_name": first_name, "last_name": "Durand",
                      "email": f"{first_name.lower()}.{uid[:8]}@example.org",
                      "phone": "+33612345678"}
        return Principal(uid, "user", self.network_id)

    def template(self, body_text: str = "Bonjour {{ lead.first_name }}, {{ user.first_name }}",
                 subject: str = "Pour {{ lead.first_name }}", **over: Any) -> dict[str, Any]:
        with self.rpc(self.admin) as rpc:
            return rpc.mailer.create_template({"name": "T", "subject": subject,
                                               "body_text": body_text, **over})

    def automation(self, status: str, template_id: str, delay_hours: int = 0) -> dict[str, Any]:
        with self.rpc(self.admin) as rpc:
            return rpc.mailer.create_automation({"status": status, "template_id": template_id,
                                                 "delay_hours": delay_hours})

    def mails_to(self, lead: dict[str, Any]) -> list[Received]:
        return self.live.smtp.to(lead["email"]) if lead["email"] else []

    def emails_of(self, lead: dict[str, Any]) -> list[dict[str, Any]]:
        from mailer.models import lead_emails

        return table_rows(self.live.db_url, lead_emails,
                          lead_emails.c.lead_id == uuid.UUID(lead["lead_id"]))

    def sent_events(self, lead: dict[str, Any]) -> list[dict[str, Any]]:
        return [e for e in SENT_EVENTS if e["lead_id"] == lead["lead_id"]]


@pytest.fixture
def users() -> dict[str, dict[str, Any]]:
    """What the fake accounts knows of users (``get_user``)."""
    return USERS


@pytest.fixture
def pipelines() -> Iterator[dict[str, list[str]]]:
    """Networks whose pipeline is not the default one (for this test)."""
    yield PIPELINES
    PIPELINES.clear()


@pytest.fixture
def unavailable_leads() -> Iterator[dict[str, int]]:
    """Leads whose next ``lead_contact`` calls fail as unavailable (for this test)."""
    yield UNAVAILABLE_LEADS
    UNAVAILABLE_LEADS.clear()


@pytest.fixture
def closed_offices() -> Iterator[set[str]]:
    """Users whose office accounts says is closed (for this test)."""
    yield CLOSED_OFFICES
    CLOSED_OFFICES.clear()


def make_office(live_mailer: LiveMailer, name: str = "Réseau Nord") -> Office:
    """A network announced by accounts (``network_created``), its admin and a member with an
    open office."""
    network_id = str(uuid.uuid4())
    admin_id = str(uuid.uuid4())
    USERS[admin_id] = {"id": admin_id, "role": "admin", "network_id": network_id,
                       "status": "active", "first_name": "Alice", "last_name": "Martin",
                       "email": f"alice.{admin_id[:8]}@example.org"}
    office = Office(live_mailer, network_id, Principal(admin_id, "admin", network_id),
                    Principal("", "user"))
    office.user = office.member()
    publish_signed(live_mailer.cfg["AMQP_URI"], "accounts", "network_created",
                   {"network_id": network_id, "name": name})
    wait_for(lambda: table_rows(live_mailer.db_url, mail_networks,
                                mail_networks.c.network_id == network_id),
             what="the network announced")
    return office


@pytest.fixture
def office_in() -> Iterator[Callable[..., Office]]:
    """``office_in(live, name)``: an office on a mailer of the test's own making."""
    yield make_office
    clock.reset()


@pytest.fixture
def new_office(live_mailer: LiveMailer) -> Iterator[Callable[..., Office]]:
    """Make offices on the module's mailer (see ``make_office``); the platform clock is
    reset afterwards."""
    yield lambda name="Réseau Nord": make_office(live_mailer, name)
    clock.reset()


@dataclass
class PrivateMailer:
    """A platform of one test's own: its vhost, SMTP server and fakes; mailer instances
    started (and killed) at will, all on the test database."""
    live: LiveMailer
    containers: list[Any] = field(default_factory=list)

    def start_mailer(self) -> Any:
        from nameko.containers import get_container_cls

        from mailer.service import MailerService

        container = get_container_cls()(MailerService)
        container.start()
        self.containers.append(container)
        return container


@pytest.fixture
def private_mailer(db_url: str) -> Iterator[PrivateMailer]:
    infra.truncate_all(db_url, metadata)
    name = infra.fresh_vhost()
    server = SmtpServer()
    server.start()
    cfg = mailer_config(name, db_url, server.port)
    private = PrivateMailer(LiveMailer(cfg, server, db_url))
    try:
        with infra.running(cfg, FakeAccounts, FakeLeads, FakeCompliance):
            try:
                yield private
            finally:
                for container in private.containers:
                    try:
                        container.stop()
                    except Exception:
                        container.kill()
    finally:
        server.hold.clear()
        server.stop()
        infra.delete_vhost(name)
        clock.reset()


# --- compliance's contract -----------------------------------------------------------------

@dataclass
class Compliance:
    """Compliance as the mailer sees it: its events (signed as compliance), what the fakes
    answer and what compliance received."""
    live: LiveMailer

    def publish(self, event_type: str, payload: dict[str, Any],
                message_id: str | None = None) -> str:
        return publish_signed(self.live.cfg["AMQP_URI"], "compliance", event_type, payload,
                              message_id)

    def controller(self, user: Principal, name: str = "Cabinet") -> dict[str, Any]:
        item = {"user_id": user.user_id, "network_id": user.network_id, "name": name,
                "email": USERS.get(user.user_id, {}).get("email")}
        CONTROLLERS.append(item)
        return item

    def task(self, kind: str, email: str | None, changes: dict[str, Any] | None = None,
             request_id: str | None = None, attempt: int = 1, open_: bool = True) -> str:
        """A data-subject task for the mailer (``dsr_task_requested``); ``open_``: compliance
        answers ``dsr_subject`` for it."""
        rid = request_id or str(uuid.uuid4())
        if open_:
            SUBJECTS[rid] = {"request_id": rid, "kind": kind, "email": email, "phone": None,
                             "changes": changes}
        self.publish("dsr_task_requested", {
            "request_id": rid, "service": "mailer", "kind": kind, "attempt": attempt,
            "due_on": "2027-01-01", "email_index": "e" * 64, "phone_index": None})
        return rid

    def reports(self, request_id: str) -> list[dict[str, Any]]:
        return [r for r in DSR_REPORTS if r.get("request_id") == request_id]

    def asked(self, request_id: str) -> list[Principal | None]:
        return [p for rid, p in SUBJECT_ASKED if rid == request_id]

    def notices(self, breach_id: str) -> list[dict[str, Any]]:
        return [r for r in NOTICE_REPORTS if r.get("breach_id") == breach_id]

    def eoc_reports(self, event_type: str, contract_id: str) -> list[dict[str, Any]]:
        """The mailer's ``controller_data_reported`` / ``controller_data_shredded``."""
        return [p for kind, p in EOC_REPORTS
                if kind == event_type and p.get("contract_id") == contract_id]


@pytest.fixture
def compliance(live_mailer: LiveMailer) -> Iterator[Compliance]:
    """Compliance for the module's mailer; the controllers listed are this test's only."""
    CONTROLLERS.clear()
    yield Compliance(live_mailer)
    CONTROLLERS.clear()


@pytest.fixture
def compliance_of() -> Iterator[Callable[[LiveMailer], Compliance]]:
    """``compliance_of(live)``: compliance for a platform of the test's own making."""
    CONTROLLERS.clear()
    yield Compliance
    CONTROLLERS.clear()
