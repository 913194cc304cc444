"""Fixtures of the office tests.

Two databases, both built by the leads migrations: ``leads_office_test`` for use-case
tests run through ``Harness`` (``h``: no broker, events collected in memory), and
``leads_office_svc_test`` for the running stack (``stack``, called over RPC with signed
principals): ``OfficeTestService`` (the office mixin on a leads-named service),
``FakeAccounts`` (no database: office_active, admin_can_view, get_member) and
``FakeListener`` (records the events the office emits). The routes are tested over HTTP
on the real platform by ``tests/e2e/test_office_flow.py``. The stack runs once per test
module; each test starts from empty tables.
"""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from leads import office_testing as testing
from leads import testing as leads_testing
from leads.domain.refund_checks import DomainNotFoundError, ResolverUnavailableError
from leads.models import common, metadata, office_leads
from leads.office_entrypoints import OfficeEntrypoints
from suivi_common import clock
from suivi_common.auth import CurrentPrincipal, Principal
from suivi_common.database import Database
from suivi_common.errors import NotFound
from suivi_common.rpc import RpcClient
from suivi_common.service_base import PlatformService
from suivi_common.testing import infra
from suivi_common.testing.harness import recording_handlers

FAKE: dict[str, Any] = {}


def reset_fake() -> None:
    FAKE.clear()
    FAKE.update({"closed": set(), "members": {}, "admins": {}, "events": [], "dns": {}})


reset_fake()


def fake_resolver(domain: str) -> bool:
    """DNS as the test says: True/False (mail route or not), "nx", "down" (default True)."""
    answer = FAKE["dns"].get(domain, True)
    if answer == "nx":
        raise DomainNotFoundError(domain)
    if answer == "down":
        raise ResolverUnavailableError("timeout")
    return bool(answer)


class FakeResolverProvider(DependencyProvider):
    def get_dependency(self, worker_ctx: Any) -> Any:
        return fake_resolver


class OfficeTestService(OfficeEntrypoints, PlatformService):
    name = "leads"
    db = Database(common)
    mail_resolver = FakeResolverProvider()


class FakeAccounts:
    name = "accounts"
    principal = CurrentPrincipal()

    @rpc
    def office_active(self, user_id: str) -> bool:
        return user_id not in FAKE["closed"]

    @rpc
    def admin_can_view(self, admin_id: str, member_id: str) -> bool:
        member = FAKE["members"].get(member_id)
        return (member is not None and FAKE["admins"].get(admin_id) == member["network"]
                and member["admin_access"])

    @rpc(expected_exceptions=(NotFound,))
    def get_member(self, member_id: str) -> dict[str, Any]:
        member = FAKE["members"].get(member_id)
        if member is None or self.principal is None or member["network"] != self.principal.network_id:
            raise NotFound("No such member")
        return {"id": member_id}


class FakeListener(recording_handlers(
        "leads", ("lead_status_changed", "refund_approved", "lead_erased"),
        lambda event_type, payload: FAKE["events"].append((event_type, payload)))):
    name = "listener"


# --- use-case tests --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def office_engine() -> Iterator[Engine]:
    engine = create_engine(infra.fresh_database("leads_office", leads_testing.MIGRATIONS))
    yield engine
    engine.dispose()


@pytest.fixture
def h(office_engine: Engine) -> Iterator[testing.Harness]:
    infra.truncate_all(office_engine, metadata)
    yield testing.Harness(office_engine)
    clock.reset()


# --- the running stack -----------------------------------------------------------------------

class Stack:
    def __init__(self, cfg: dict[str, Any], engine: Engine) -> None:
        self.cfg = cfg
        self.engine = engine
        self.uri = cfg["AMQP_URI"]
        self.h = testing.Harness(engine)

    @contextlib.contextmanager
    def rpc(self, role: str = "user", user_id: str = "u1",
            network_id: str | None = "net-1") -> Iterator[Any]:
        """leads, called by ``role``/``user_id`` (a ``service`` role: that service, by its
        name in ``user_id``), signed as the platform signs; anonymous if ``role`` is None."""
        if role == "service":
            client = RpcClient(self.uri, service=user_id)
        else:
            client = RpcClient(self.uri, principal=Principal(user_id, role, network_id)
                               if role else None)
        with client:
            yield client.leads

    def deliver(self, owner_id: str = "u1", network_id: str = "net-1", plan_id: str = "plan-1",
                raw: dict[str, Any] | None = None, i: int = 0,
                delivered_at: datetime | None = None, message_id: str | None = None) -> str:
        """Sell a lead as part 1 does, publish ``lead_delivered``, wait for the office row."""
        with Session(self.engine) as session:
            payload = testing.sell(session, self.h.vault(session), owner_id=owner_id,
                                   network_id=network_id, plan_id=plan_id,
                                   raw=raw or testing.raw_lead(i),
                                   delivered_at=delivered_at or clock.now())
            session.commit()
        self.publish("lead_delivered", payload, message_id)
        lead_id = uuid.UUID(payload["lead_id"])
        leads_testing.wait_for(lambda: self.count(office_leads.c.id == lead_id) == 1)
        return payload["lead_id"]

    def publish(self, event_type: str, payload: dict[str, Any],
                message_id: str | None = None) -> None:
        leads_testing.publish_event(self.uri, "leads", event_type, payload, message_id)

    def count(self, *where: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(office_leads)
                                    .where(*where)).scalar())

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [p for t, p in FAKE["events"] if t == event_type]


@pytest.fixture(scope="session")
def _svc_url() -> str:
    return infra.fresh_database("leads_office_svc", leads_testing.MIGRATIONS)


# Module scope: the running containers (and the nameko config they patch) must not outlive
# the office tests and leak into other suites of the same pytest session.
@pytest.fixture(scope="module")
def _stack_cfg(_svc_url: str) -> Iterator[infra.Stack]:
    with infra.running_on(_svc_url, OfficeTestService, FakeAccounts, FakeListener,
                          SUIVI_MASTER_KEY=testing.TEST_MASTER_KEY_B64, RPC_TIMEOUT_SECONDS=3,
                          OFFICE_STATUS_CACHE_SECONDS=0, OFFICE_ADMIN_VIEW_CACHE_SECONDS=0,
                          OFFICE_EXPORT_CHUNK_BYTES=16 * 1024) as running:
        yield running


@pytest.fixture
def fake() -> dict[str, Any]:
    """What the fakes answer: ``closed`` offices, ``members`` {id: {network, admin_access}},
    ``admins`` {id: network}, ``dns`` {domain: answer}; ``events`` they received."""
    return FAKE


@pytest.fixture
def stack(_stack_cfg: infra.Stack) -> Iterator[Stack]:
    infra.truncate_all(_stack_cfg.engine, metadata)
    _stack_cfg.forget_data_keys()
    reset_fake()
    yield Stack(_stack_cfg.cfg, _stack_cfg.engine)
    clock.reset()
