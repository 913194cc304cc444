"""Real PostgreSQL + RabbitMQ: PlansService in-process, with small fake ``accounts``,
``leads`` and ``compliance`` services (no Database of their own: two services relaying
one outbox would publish every event twice).

The fakes answer the RPCs plans makes (office_active, open_countries, request_payment,
subject_users; close_books, plan_today; dsr_subject) and publish events the way the
outbox relay does (a Publisher to ``<service>.events`` with a message id). Fake leads
records the snapshots plans sends, fake compliance the data-subject reports.

One stack per test module (a module may set ``STACK_CONFIG`` and ``EXTRA_SERVICES``);
between tests the tables are emptied (but ``data_keys``: the running service caches its
keys), the fakes reset and the clock frozen on a Monday.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from nameko.events import event_handler
from nameko.rpc import rpc
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from plans import store
from plans.models import common, metadata
from plans.service import PlansService
from plans.testing import (
    MIGRATIONS,
    MONDAY,
    FakeAccountsState,
    FakeComplianceState,
    FakeLeadsBook,
    freeze_on,
    publish_event,
    wait_for,
)
from suivi_common import clock
from suivi_common.auth import CurrentPrincipal, Principal
from suivi_common.errors import EXPECTED_ERRORS
from suivi_common.rpc import RpcClient
from suivi_common.testing import infra
from suivi_common.testing.harness import recording_handlers
from suivi_common.testing.waiting import broker_settled


class Fakes:
    """State behind the fake services, reset before each test."""

    def __init__(self) -> None:
        self.amqp_uri = ""
        self.reset()

    def reset(self) -> None:
        self.book = FakeLeadsBook()
        self.accounts = FakeAccountsState(offices={"u1": True, "u2": True},
                                          open_countries={"net-1": ["FR", "BE"]})
        self.snapshots: list[dict[str, Any]] = []
        self.tokens: dict[str, dict[str, Any]] = {}
        self.compliance = FakeComplianceState()
        self.reports: list[dict[str, Any]] = []
        self.callers: list[tuple[str, str | None]] = []  # (method, calling service)


FAKE = Fakes()


def _health(name: str) -> dict[str, Any]:
    return {"service": name, "status": "ok", "now": clock.now().isoformat(),
            "clock_offset_seconds": clock.offset_seconds()}


class FakeAccounts:
    name = "accounts"
    principal = CurrentPrincipal()

    @rpc
    def health(self) -> dict[str, Any]:
        return _health(self.name)

    @rpc
    def office_active(self, user_id: str) -> bool:
        return FAKE.accounts.offices.get(user_id, False)

    @rpc
    def office_kinds(self, user_id: str) -> list[str]:
        return FAKE.accounts.office_kinds(user_id)

    @rpc
    def open_countries(self, network_id: str) -> list[str]:
        return FAKE.accounts.open_countries.get(network_id, [])

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def request_payment(self, order_type: str, order_id: str, amount_cents: int, method: str,
                        description: str) -> dict[str, Any]:
        buyer = self.principal.user_id if self.principal else None
        return FAKE.accounts.request_payment(buyer, order_type, order_id, amount_cents, method,
                                             description)

    @rpc
    def subject_users(self, request_id: str, email: str | None = None,
                      phone: str | None = None) -> dict[str, Any]:
        FAKE.callers.append(("accounts.subject_users",
                             self.principal.user_id if self.principal else None))
        return FAKE.accounts.subject_users(request_id, email, phone)

    @rpc
    def authenticate(self, token: str) -> dict[str, Any]:
        from suivi_common.errors import Unauthorized

        if token not in FAKE.tokens:
            raise Unauthorized("Unknown token")
        return FAKE.tokens[token]


class FakeLeads(recording_handlers(
        "plans", ("plan_activated", "plan_changed", "plan_completed", "plan_cancelled"),
        lambda event_type, payload: FAKE.snapshots.append(payload))):
    """leads as plans sees it: the day's books, and the entitlement snapshots it keeps."""

    name = "leads"

    @rpc
    def health(self) -> dict[str, Any]:
        return _health(self.name)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def close_books(self, date: str, plan_ids: list[str]) -> dict[str, Any]:
        from datetime import date as date_cls

        items = FAKE.book.close(date_cls.fromisoformat(date), plan_ids)
        for item in items:
            if not item["already_closed"]:
                report = {k: item[k] for k in ("plan_id", "date", "taken", "shortfall")}
                publish_event(FAKE.amqp_uri, "leads", "plan_day_closed", report,
                              message_id=f"close:{item['plan_id']}:{item['date']}")
        return {"date": date, "items": items}

    @rpc
    def plan_today(self, plan_id: str) -> dict[str, Any]:
        return FAKE.book.today(plan_id)


class FakeMailer:
    name = "mailer"

    @rpc
    def health(self) -> dict[str, Any]:
        return _health(self.name)


class FakeCompliance:
    name = "compliance"
    principal = CurrentPrincipal()

    @rpc
    def health(self) -> dict[str, Any]:
        return _health(self.name)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def dsr_subject(self, request_id: str) -> dict[str, Any]:
        from suivi_common.errors import NotFound

        FAKE.callers.append(("compliance.dsr_subject",
                             self.principal.user_id if self.principal else None))
        answer = FAKE.compliance.answer(request_id)
        if answer is None:
            raise NotFound("No open task of this service on this request")
        return answer

    @event_handler("plans", "dsr_task_reported")
    def on_report(self, payload: dict[str, Any]) -> None:
        FAKE.reports.append(payload)


class Stack:
    def __init__(self, cfg: dict[str, Any], engine: Engine) -> None:
        self.cfg = cfg
        self.engine = engine
        self.uri = cfg["AMQP_URI"]
        self.vhost = self.uri.rsplit("/", 1)[1]
        self.fake = FAKE

    @contextlib.contextmanager
    def rpc(self, who: Principal | None) -> Iterator[Any]:
        with RpcClient(self.uri, principal=who) as client:
            yield client.plans

    def call(self, who: Principal | None, method: str, *args: Any, **kwargs: Any) -> Any:
        with self.rpc(who) as plans:
            return getattr(plans, method)(*args, **kwargs)

    def publish(self, source: str, event_type: str, payload: dict[str, Any], message_id: str) -> None:
        publish_event(self.uri, source, event_type, payload, message_id)

    def pay(self, payment_id: str, message_id: str | None = None) -> dict[str, Any]:
        event = FAKE.accounts.validated_event(payment_id)
        self.publish("accounts", "payment_validated", event, message_id or f"pay:{payment_id}")
        return event

    def plan(self, plan_id: str) -> store.PlanRow:
        with Session(self.engine) as session:
            row = store.load(session, plan_id)
        assert row is not None
        return row

    def count(self, table: Any, *where: Any) -> int:
        with Session(self.engine) as session:
            return int(session.execute(select(func.count()).select_from(table).where(*where))
                       .scalar_one())

    def snapshots(self, plan_id: str) -> list[dict[str, Any]]:
        return [s for s in FAKE.snapshots if s["plan_id"] == plan_id]

    def wait_snapshot(self, plan_id: str, version: int) -> dict[str, Any]:
        """The snapshot of ``version`` as fake leads received it."""
        return wait_for(lambda: next((s for s in self.snapshots(plan_id)
                                      if s["version"] == version), None),
                        what=f"snapshot v{version} of {plan_id}")

    def settled(self) -> bool:
        """Nothing is left to happen: every delivered event handled and acked (plans acks
        after its commit, the fakes after their handler ran), then plans' outbox relayed,
        then what it relayed handled too."""
        return (broker_settled(self.vhost) and self.count(common.outbox) == 0
                and broker_settled(self.vhost))

    def settle(self) -> None:
        """Wait until everything sent so far has taken its effect: the way to say "and
        nothing more happened" without sleeping a guessed time."""
        wait_for(self.settled, what="the broker and plans' outbox settled")


@pytest.fixture(scope="session")
def db_url() -> str:
    return infra.fresh_database("plans", MIGRATIONS)


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, db_url: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    infra.truncate_all(db_url, metadata)
    vhost = infra.fresh_vhost()
    settings = {"DATABASE_URL": db_url, "DAY_CLOSE_INTERVAL_SECONDS": 3600, "RPC_TIMEOUT_SECONDS": 30,
                "SUIVI_DEV_CLOCK_FILE": str(tmp_path_factory.mktemp("clock") / "dev-clock.json"),
                **getattr(request.module, "STACK_CONFIG", {})}
    cfg = infra.base_config(vhost, **settings)
    FAKE.amqp_uri = cfg["AMQP_URI"]
    FAKE.reset()
    engine = create_engine(db_url)
    services = (PlansService, FakeAccounts, FakeLeads, FakeCompliance,
                *getattr(request.module, "EXTRA_SERVICES", ()))
    try:
        with infra.running(cfg, *services):
            yield Stack(cfg, engine)
    finally:
        clock.reset()
        engine.dispose()
        infra.delete_vhost(vhost)


@pytest.fixture
def world(stack: Stack) -> Iterator[Stack]:
    """The module's stack, emptied, with fresh fakes and the clock on ``MONDAY`` 10:00."""
    infra.truncate_all(stack.engine, metadata, keep=("data_keys",))
    FAKE.reset()
    freeze_on(MONDAY)
    try:
        yield stack
    finally:
        stack.settle()
        clock.reset()

