"""Real PostgreSQL, RabbitMQ and SMTP (aiosmtpd) for the mailer's integration tests, with
a small fake ``accounts`` that hands out set-password links by reference (the real one
derives them; see accounts' ``password_tokens``)."""
from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from nameko.rpc import rpc
from sqlalchemy import create_engine, select

import mailer
from mailer.models import metadata, sent_emails
from suivi_common.auth import CurrentPrincipal, Principal
from suivi_common.errors import EXPECTED_ERRORS, Conflict
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
    controller: Controller | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse_rcpt:
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content or envelope.content,
                                    policy=policy.default)
        self.received.append(Received(list(envelope.rcpt_tos), parsed, time.monotonic()))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                     enable_SMTPUTF8=True)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

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


def mailer_config(vhost: str, db_url: str, smtp_port: int) -> dict[str, Any]:
    return infra.base_config(vhost, DATABASE_URL=db_url, SMTP_HOST="127.0.0.1",
                             SMTP_PORT=smtp_port, SMTP_TIMEOUT_SECONDS=5,
                             EVENT_RETRY_DELAYS_MS=[200, 400, 800],
                             MAIL_FROM="Suivi <no-reply@suivi.test>",
                             PUBLIC_URL="https://app.suivi.test")


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


class FakeAccounts:
    name = "accounts"
    principal = CurrentPrincipal()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def password_link(self, link_ref: str) -> dict[str, Any]:
        ASKED.append(self.principal)
        if link_ref not in LINKS:
            raise Conflict("This link was used, replaced or has expired", code="link_unusable")
        return LINKS[link_ref]


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
        with infra.running(cfg, MailerService, FakeAccounts):
            yield LiveMailer(cfg, server, db_url)
    finally:
        server.stop()
        infra.delete_vhost(name)
