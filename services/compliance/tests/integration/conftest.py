"""Real PostgreSQL and RabbitMQ: one running ComplianceService for the session, and fakes
standing where the other services will answer (they are not built yet: see the contracts
in ``services/compliance/README.md``).

* ``FakeHolders`` consumes ``dsr_task_requested`` and answers each task with
  ``dsr_task_reported``, published signed as the service the task names, as that
  service's outbox relay would; ``HOLDERS`` says per service whether to answer, stay
  silent or report a failure, ``REPORT_DATA`` what ``data`` an answer carries.
* ``FakeLeads`` (named ``leads``) answers ``breach_scope`` from ``SCOPES``.

Between tests every table is emptied except ``data_keys`` (the running service caches
its data keys) and the platform clock is reset.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nameko.events import event_handler
from nameko.rpc import rpc
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import compliance
from compliance.models import common, metadata
from compliance.service import ComplianceService
from compliance.usecases.context import Ctx
from suivi_common import clock, events, outbox
from suivi_common.auth import CurrentPrincipal, Principal
from suivi_common.crypto import Vault
from suivi_common.database import Database
from suivi_common.errors import EXPECTED_ERRORS, ServiceUnavailable
from suivi_common.testing import infra
from suivi_common.testing.harness import ServiceHarness
from suivi_common.testing.messages import publish_event
from suivi_common.testing.waiting import broker_queues, wait_for

MIGRATIONS = Path(compliance.__file__).parent / "migrations"
COMPLIANCE = {"user_id": "c0000000-0000-4000-8000-000000000001", "role": "compliance"}
STAFF = {"user_id": "s0000000-0000-4000-8000-000000000001", "role": "staff"}

#: service -> "report" (answer found with records) | "absent" (found nothing) |
#: "silent" (never answers) | "fail" (reports an error)
HOLDERS: dict[str, str] = {}
#: what each fake holder received, in order
TASKS: list[dict[str, Any]] = []
#: service -> the ``data`` its report carries (none when absent)
REPORT_DATA: dict[str, Any] = {}
#: breach scope answers: list of {user_id, network_id, persons, records}
SCOPES: list[dict[str, Any]] = []
SCOPE_ASKS: list[dict[str, Any]] = []
#: {"down": True}: breach_scope answers as an unreachable service would
LEADS_STATE: dict[str, bool] = {}
AMQP: dict[str, str] = {}
TEST_QUEUE = "compliance-test-events"


class FakeHolders:
    """Plays accounts, plans, leads and mailer answering their data-subject tasks."""

    name = "dsr_holders"

    @event_handler("compliance", "dsr_task_requested")
    def on_task(self, payload: dict[str, Any]) -> None:
        TASKS.append(payload)
        service = payload["service"]
        behaviour = HOLDERS.get(service, "report")
        if behaviour == "silent":
            return
        report = events.example("dsr_task_reported", request_id=payload["request_id"],
                                service=service, found=behaviour == "report",
                                records_affected=2 if behaviour == "report" else 0)
        if behaviour == "fail":
            report["error"] = "database unreachable"
        if behaviour == "report" and service in REPORT_DATA:
            report["data"] = REPORT_DATA[service]
        publish_event(AMQP["uri"], service, "dsr_task_reported", report)


class FakeLeads:
    name = "leads"
    principal = CurrentPrincipal()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def breach_scope(self, scope: dict[str, Any]) -> list[dict[str, Any]]:
        SCOPE_ASKS.append({"scope": scope, "by": self.principal})
        if LEADS_STATE.get("down"):
            raise ServiceUnavailable("leads cannot be reached right now")
        return [dict(s) for s in SCOPES]

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def data_map(self) -> dict[str, Any]:
        return dict(LEADS_DATA_MAP)


#: what the fake leads answers to data_map (None: the method raises as a missing one would)
LEADS_DATA_MAP: dict[str, Any] = {}


class Harness(ServiceHarness):
    def __init__(self, cfg: dict[str, Any], engine: Engine, database: Database,
                 vhost: str) -> None:
        super().__init__(cfg, engine, "compliance", TEST_QUEUE)
        self.database = database
        self.vhost = vhost

    @property
    def compliance(self) -> Any:
        return self.rpc(COMPLIANCE)

    @property
    def staff(self) -> Any:
        return self.rpc(STAFF)

    def user(self, user_id: str, role: str = "user", network_id: str | None = None) -> Any:
        return self.rpc({"user_id": user_id, "role": role, "network_id": network_id})

    def as_service(self, name: str = "compliance") -> Any:
        return self.rpc(service=name)

    def publish(self, source: str, event_type: str, payload: dict[str, Any],
                message_id: str | None = None, signed: bool = True) -> str:
        return publish_event(self.cfg["AMQP_URI"], source, event_type, payload, message_id,
                             signed=signed)

    def events_of(self, event_type: str) -> list[dict[str, Any]]:
        self.drain()
        return [p for k, p in self.events if k == event_type]

    def wait_events(self, event_type: str, count: int,
                    match: Callable[[dict[str, Any]], bool] = lambda p: True
                    ) -> list[dict[str, Any]]:
        return wait_for(lambda: (found if len(found := [
            p for p in self.events_of(event_type) if match(p)]) >= count else None),
            what=f"{count} {event_type} event(s)")

    def settled(self) -> None:
        """Everything sent so far was handled (no sleep: the broker's queues are empty)."""
        def quiet() -> bool:
            queues = broker_queues(self.vhost)
            return bool(queues) and all(counts == (0, 0) for q, counts in queues.items()
                                        if q != TEST_QUEUE)

        wait_for(quiet, what="broker settled")

    def processed(self, message_id: str) -> None:
        wait_for(lambda: self.scalar("SELECT count(*) FROM inbox WHERE message_id = :m",
                                     m=message_id), what=f"message {message_id} handled")

    def as_timer(self, use_case: Callable[[Ctx], Any]) -> Any:
        """Run a use case as compliance's timer runs it (its own transaction, its outbox)."""
        with Session(self.engine) as session, session.begin():
            ctx = Ctx(session=session, vault=Vault(self.database.keyring, session),
                      emit=lambda kind, payload: outbox.emit(session, common, kind, payload),
                      principal=Principal("compliance", "service"))
            return use_case(ctx)


def _reset(engine: Engine) -> None:
    infra.truncate_all(engine, metadata, keep=("data_keys",))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64))"))


@pytest.fixture(scope="session")
def harness() -> Iterator[Harness]:
    db_url = infra.fresh_database("compliance", MIGRATIONS)
    with infra.running_on(db_url, ComplianceService, FakeHolders, FakeLeads,
                          DSR_RETRY_INTERVAL_SECONDS=3600, DSR_EXPORT_SWEEP_SECONDS=3600,
                          DPO_NAME="Claire Dupont", DPO_EMAIL="dpo@suivi.test",
                          RPC_TIMEOUT_SECONDS=10) as running:
        AMQP["uri"] = running.cfg["AMQP_URI"]
        h = Harness(running.cfg, running.engine, running.databases[0], running.vhost)
        try:
            yield h
        finally:
            h.close()


@pytest.fixture
def h(harness: Harness) -> Iterator[Harness]:
    clock.reset()
    harness.settled()
    _reset(harness.engine)
    for state in FAKE_STATE.values():
        state.clear()
    harness.drain()
    harness.events.clear()
    yield harness
    clock.reset()


#: the fakes' state, emptied before each test; a fixture of the same name gives each one
FAKE_STATE: dict[str, Any] = {
    "holders": HOLDERS, "tasks": TASKS, "report_data": REPORT_DATA, "scopes": SCOPES,
    "scope_asks": SCOPE_ASKS, "leads_state": LEADS_STATE, "leads_data_map": LEADS_DATA_MAP}


def _state_fixture(name: str) -> Any:
    def fixture(h: Harness) -> Any:
        return FAKE_STATE[name]
    return pytest.fixture(name=name)(fixture)


holders, tasks, report_data, scopes, scope_asks, leads_state, leads_data_map = map(
    _state_fixture, FAKE_STATE)
