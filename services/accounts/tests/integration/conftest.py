"""Real PostgreSQL, RabbitMQ, card provider; one running AccountsService for the session,
with a small fake ``compliance`` service answering ``dsr_subject`` from ``h.compliance``
and a fake ``plans`` answering ``running_plan_owners`` from ``h.plans``.

Between tests every table is emptied except ``data_keys`` (the running service caches
data keys; wiping them under it would desynchronise encryption), the bootstrap runs
again (initial terms, staff account) and the event queue is drained. Each test starts
with the clock at ``START`` (running): a run near a real midnight sees no day change.
"""
from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime
from datetime import time as day_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from nameko.rpc import rpc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import accounts
from accounts.models import common, metadata
from accounts.service import AccountsService
from accounts.usecases import bootstrap
from accounts.usecases.context import Ctx
from suivi_common import clock, outbox
from suivi_common.auth import CurrentPrincipal
from suivi_common.crypto import Vault
from suivi_common.database import Database
from suivi_common.errors import EXPECTED_ERRORS, NotFound, ServiceUnavailable
from suivi_common.testing import infra
from suivi_common.testing.harness import ServiceHarness
from suivi_common.testing.messages import publish_event
from suivi_common.testing.waiting import broker_settled, wait_for

MIGRATIONS = Path(accounts.__file__).parent / "migrations"
ROOT = Path(__file__).resolve().parents[4]
STAFF_EMAIL = "staff@suivi.test"
STAFF_PASSWORD = "staff-bootstrap-pass-2026"
PASSWORD = "violet tractor mango river"
CARD_SECRET = "test-secret"
#: Where each test's clock starts (then runs): an ordinary Wednesday morning in Paris.
START = datetime.combine(date(2026, 6, 10), day_time(10), tzinfo=clock.PARIS)


class CallbackSink(ThreadingHTTPServer):
    """Stands where the gateway's card callback would be: keeps what the provider posts."""

    daemon_threads = True

    def __init__(self) -> None:
        self.received: list[tuple[bytes, str]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.received.append((body, self.headers.get("X-Signature", "")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def _load_fake_provider() -> Any:
    path = ROOT / "tools" / "fakes" / "card_provider.py"
    spec = importlib.util.spec_from_file_location("fake_card_provider", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class ComplianceState:
    """What the fake compliance answers: the open tasks' subjects, and who asked."""

    def __init__(self) -> None:
        self.subjects: dict[str, dict[str, Any]] = {}
        self.asked: list[tuple[str, str | None]] = []

    def open_task(self, request_id: str, kind: str, email: str | None = None,
                  phone: str | None = None, changes: dict[str, Any] | None = None) -> None:
        self.subjects[request_id] = {"request_id": request_id, "kind": kind, "email": email,
                                     "phone": phone, "changes": changes}

    def reset(self) -> None:
        self.subjects.clear()
        self.asked.clear()


COMPLIANCE = ComplianceState()


class FakeCompliance:
    """compliance's ``dsr_subject`` as accounts sees it: the subject of an open task, 404
    otherwise (a task done, a request denied)."""

    name = "compliance"
    principal = CurrentPrincipal()

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name, "status": "ok", "now": clock.now().isoformat()}

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def dsr_subject(self, request_id: str) -> dict[str, Any]:
        COMPLIANCE.asked.append((request_id, self.principal.user_id if self.principal else None))
        if request_id not in COMPLIANCE.subjects:
            raise NotFound("No open task of this service on this request")
        return dict(COMPLIANCE.subjects[request_id])


class PlansState:
    """What the fake plans answers: who has a plan running, who was asked about, and the
    call that fails (plans unreachable), if any."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.asked: list[list[str]] = []
        self.fail_call: int | None = None  # 1-based

    def reset(self) -> None:
        self.running.clear()
        self.asked.clear()
        self.fail_call = None


PLANS = PlansState()


class FakePlans:
    """plans' ``running_plan_owners`` as accounts sees it."""

    name = "plans"

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name, "status": "ok", "now": clock.now().isoformat()}

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def running_plan_owners(self, user_ids: list[str]) -> list[str]:
        PLANS.asked.append(list(user_ids))
        if PLANS.fail_call == len(PLANS.asked):
            raise ServiceUnavailable("plans is not answering")
        return sorted(u for u in user_ids if u in PLANS.running)


class Harness(ServiceHarness):
    """What the integration tests drive: RPC clients, events, direct SQL."""

    def __init__(self, cfg: dict[str, Any], engine: Engine, database: Database,
                 provider: Any, sink: CallbackSink) -> None:
        super().__init__(cfg, engine, "accounts", "accounts-test-events")
        self.vhost = cfg["AMQP_URI"].rsplit("/", 1)[1]
        self.public_url = cfg["PUBLIC_URL"]
        self.sink = sink
        self.database = database
        self.provider = provider
        self.compliance = COMPLIANCE
        self.plans = PLANS

    @property
    def anon(self) -> Any:
        return self.rpc(None)

    @property
    def gateway(self) -> Any:
        """accounts as the gateway calls it for itself (authenticate, card callbacks)."""
        return self.rpc(service="gateway")

    def service(self, name: str = "plans") -> Any:
        return self.rpc(service=name)

    def staff(self) -> dict[str, Any]:
        uid = self.scalar("SELECT id FROM users WHERE role = 'staff' ORDER BY created_at LIMIT 1")
        return {"user_id": str(uid), "role": "staff"}

    # --- events ----------------------------------------------------------------------
    def wait_event(self, event_type: str, match: Callable[[dict[str, Any]], bool] = lambda p: True
                   ) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            self.drain()
            return next((p for k, p in self.events if k == event_type and match(p)), None)
        try:
            return wait_for(found, what=f"a {event_type} event")
        except AssertionError:
            raise AssertionError(f"no {event_type} event; saw {[k for k, _ in self.events]}"
                                 ) from None

    def settled(self) -> bool:
        """Nothing is left to happen: every delivered event handled and acked (accounts
        acks after its commit), then every outbox row published and drained here."""
        self.drain()
        if not broker_settled(self.vhost):
            return False
        if self.scalar("SELECT count(*) FROM outbox"):
            return False
        self.drain()
        return broker_settled(self.vhost)

    def events_of(self, event_type: str) -> list[dict[str, Any]]:
        """Every event of this type accounts published so far (not just the first to
        arrive): read once nothing is left in flight, never after a guessed sleep."""
        wait_for(self.settled, what="accounts' events all published and handled")
        return [p for k, p in self.events if k == event_type]

    def publish(self, source: str, event_type: str, payload: dict[str, Any],
                message_id: str) -> None:
        """Publish an event of another service the way its outbox relay does (signed)."""
        publish_event(self.cfg["AMQP_URI"], source, event_type, payload, message_id)

    # --- sql -------------------------------------------------------------------------
    def direct_ctx(self, session: Session) -> Ctx:
        """A use-case context outside any worker (for calling timer logic directly)."""
        keyring = self.database.keyring
        return Ctx(session=session, vault=Vault(keyring, session),
                   emit=lambda kind, payload: outbox.emit(session, common, kind, payload),
                   engine=self.engine, principal=None)

    # --- scenarios -------------------------------------------------------------------
    def new_network(self, name: str = "Réseau Soleil", email: str = "admin@soleil.test",
                    first_name: str = "Alice", last_name: str = "Martin") -> dict[str, Any]:
        """A network whose admin has set a password; returns ids, principal and token."""
        network = self.rpc(self.staff()).create_network(
            name, {"email": email, "first_name": first_name, "last_name": last_name})
        admin = network["admin"]
        self.activate(admin["id"])
        return {"id": network["id"], "name": name, "admin_id": admin["id"], "email": email,
                "admin": {"user_id": admin["id"], "role": "admin", "network_id": network["id"]}}

    def invitation_token(self, user_id: str) -> str:
        event = self.wait_event("user_invited", lambda p: p["user_id"] == user_id)
        return self.link_token(event["link_ref"])

    def link_token(self, link_ref: str) -> str:
        """The token of the link an event refers to, as the mailer fetches it."""
        link = self.service("mailer").password_link(link_ref)
        return str(link["set_password_url"].split("token=", 1)[1])

    def activate(self, user_id: str, password: str = PASSWORD) -> None:
        self.anon.set_password(self.invitation_token(user_id), password)

    def new_member(self, network: dict[str, Any], email: str, first_name: str = "Bruno",
                   last_name: str = "Leroy") -> dict[str, Any]:
        member = self.rpc(network["admin"]).invite_member(email, first_name, last_name)
        self.activate(member["id"])
        return {"user_id": member["id"], "role": "user", "network_id": network["id"]}

    def subscribe_by_transfer(self, member: dict[str, Any], period: str = "monthly") -> dict[str, Any]:
        sub = self.rpc(member).create_subscription(period, "transfer")
        self.rpc(self.staff()).validate_payment(sub["payment"]["id"])
        return sub

    def card_outcome(self, redirect_url: str, outcome: str) -> dict[str, Any]:
        """Play the cardholder on the provider's page; return the callback it signed,
        checked the way the gateway checks it."""
        before = len(self.sink.received)
        response = requests.post(f"{redirect_url}/complete", params={"outcome": outcome},
                                 headers={"Accept": "application/json"}, timeout=60)
        response.raise_for_status()
        assert len(self.sink.received) > before, "the provider did not call back"
        body, signature = self.sink.received[-1]
        expected = hmac.new(CARD_SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(signature, expected)
        return json.loads(body)


@pytest.fixture
def network(h: Harness) -> dict[str, Any]:
    """A network whose admin has set a password (``Harness.new_network``)."""
    return h.new_network()


@pytest.fixture(scope="session")
def harness() -> Iterator[Harness]:
    db_url = infra.fresh_database("accounts", MIGRATIONS)
    infra.truncate_all(db_url, metadata)
    fake = _load_fake_provider()
    server, _ = fake.start_provider("127.0.0.1", 0, CARD_SECRET, callback_backoff_s=0.01)
    sink = CallbackSink()
    threading.Thread(target=sink.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        with infra.running_on(db_url, AccountsService, FakeCompliance, FakePlans,
                              PUBLIC_URL=sink.url,
                              CARD_PROVIDER_URL=server.base_url, CARD_PROVIDER_TIMEOUT_SECONDS=30,
                              SUIVI_STAFF_EMAIL=STAFF_EMAIL, SUIVI_STAFF_PASSWORD=STAFF_PASSWORD,
                              # tests call them
                              SUBSCRIPTION_REMINDER_INTERVAL_SECONDS=86400,
                              ACCOUNT_RETENTION_INTERVAL_SECONDS=86400,
                              ) as running:
            h = Harness(running.cfg, running.engine, running.databases[0], server, sink)
            try:
                yield h
            finally:
                h.close()
    finally:
        for http_server in (server, sink):
            http_server.shutdown()
            http_server.server_close()


@pytest.fixture
def h(harness: Harness) -> Iterator[Harness]:
    clock.set_now(START)
    infra.truncate_all(harness.engine, metadata, keep=("data_keys",))
    bootstrap.run(harness.engine, harness.database.keyring)
    harness.drain()
    harness.events.clear()
    harness.sink.received.clear()
    harness.compliance.reset()
    harness.plans.reset()
    yield harness
    clock.reset()
