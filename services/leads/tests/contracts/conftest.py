"""The leads service in a real container, speaking compliance's contracts over RabbitMQ:
``FakeCompliance`` answers ``dsr_subject`` for the tasks a test opened and records what
leads emits for compliance and the mailer; ``FakeAccounts`` and ``FakePlans`` answer what
leads asks at start-up and for the office check. One running stack per module, empty
tables per test (``leads_contracts_svc`` database)."""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from nameko.rpc import rpc
from sqlalchemy.engine import Engine

from leads import office_testing as testing
from leads import testing as leads_testing
from leads.models import metadata
from leads.service import LeadsService
from suivi_common import clock
from suivi_common.auth import Principal
from suivi_common.errors import NotFound
from suivi_common.rpc import RpcClient
from suivi_common.testing import infra
from suivi_common.testing.harness import recording_handlers

FAKE: dict[str, Any] = {"open": {}, "events": []}


class FakeCompliance(recording_handlers(
        "leads", ("dsr_task_reported", "lead_erased", "office_leads_erased",
                  "breach_subject_mail_requested"),
        lambda event_type, payload: FAKE["events"].append((event_type, payload)))):
    name = "compliance"

    @rpc(expected_exceptions=(NotFound,))
    def dsr_subject(self, request_id: str) -> dict[str, Any]:
        if request_id not in FAKE["open"]:
            raise NotFound("No open task of this service on this request")
        return FAKE["open"][request_id]


class FakeAccounts:
    name = "accounts"

    @rpc
    def office_active(self, user_id: str) -> bool:
        return True


class FakePlans:
    name = "plans"

    @rpc
    def active_entitlements(self) -> list[dict[str, Any]]:
        return []


class Stack:
    def __init__(self, cfg: dict[str, Any], engine: Engine) -> None:
        self.cfg = cfg
        self.uri = cfg["AMQP_URI"]
        self.engine = engine
        self.h = testing.Harness(engine)

    @contextlib.contextmanager
    def rpc(self, service: str | None = "compliance",
            user: Principal | None = None) -> Iterator[Any]:
        """leads, called by ``service`` (as itself) or by ``user``."""
        client = RpcClient(self.uri, principal=user) if user else RpcClient(self.uri,
                                                                               service=service)
        with client:
            yield client.leads

    def open_task(self, kind: str, email: str | None, phone: str | None = None,
                  changes: dict[str, Any] | None = None) -> dict[str, Any]:
        """Open a task at the fake compliance; returns the ``dsr_task_requested`` payload."""
        rid = str(uuid.uuid4())
        FAKE["open"][rid] = {"request_id": rid, "kind": kind, "email": email, "phone": phone,
                             "changes": changes}
        return {"request_id": rid, "service": "leads", "kind": kind, "attempt": 1,
                "due_on": "2027-01-01", "email_index": None, "phone_index": None}

    def publish(self, event_type: str, payload: dict[str, Any],
                message_id: str | None = None) -> None:
        leads_testing.publish_event(self.uri, "compliance", event_type, payload, message_id)

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [p for t, p in FAKE["events"] if t == event_type]


@pytest.fixture(scope="module")
def _running() -> Iterator[infra.Stack]:
    url = infra.fresh_database("leads_contracts_svc", leads_testing.MIGRATIONS)
    with infra.running_on(url, LeadsService, FakeCompliance, FakeAccounts, FakePlans,
                          SUIVI_MASTER_KEY=testing.TEST_MASTER_KEY_B64,
                          AUTO_DELIVERY_INTERVAL_SECONDS=3600,
                          STOCK_CHECK_INTERVAL_SECONDS=3600, DAY_CLOSE_INTERVAL_SECONDS=3600,
                          REKEY_INTERVAL_SECONDS=3600, ENTITLEMENT_SYNC_RETRY_SECONDS=3600,
                          RETENTION_SWEEP_INTERVAL_SECONDS=3600, RPC_TIMEOUT_SECONDS=5,
                          OFFICE_STATUS_CACHE_SECONDS=0) as running:
        yield running


@pytest.fixture
def stack(_running: infra.Stack) -> Iterator[Stack]:
    infra.truncate_all(_running.engine, metadata)
    _running.forget_data_keys()
    FAKE.update({"open": {}, "events": []})
    yield Stack(_running.cfg, _running.engine)
    clock.reset()
