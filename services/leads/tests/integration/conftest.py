"""Real PostgreSQL + RabbitMQ for the leads integration tests.

``stack`` runs the leads service in-process with two fakes standing in for services that
are not written yet: ``plans`` (answers ``active_entitlements`` and records the
``plan_day_closed`` events it receives) and ``accounts`` (answers ``office_active``).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from nameko.events import event_handler
from nameko.rpc import rpc
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from leads import testing
from leads.models import entitlements, member_permissions, metadata, offices
from leads.service import LeadsService
from suivi_common import clock, events
from suivi_common.rpc import RpcClient
from suivi_common.testing import infra

FAKE_STATE: dict[str, Any] = {"entitlements": [], "offices": {}, "closed": []}


class FakePlans:
    name = "plans"

    @rpc
    def active_entitlements(self) -> list[dict[str, Any]]:
        return list(FAKE_STATE["entitlements"])

    @event_handler("leads", "plan_day_closed")
    def on_day_closed(self, payload: dict[str, Any]) -> None:
        FAKE_STATE["closed"].append(payload)


class FakeAccounts:
    name = "accounts"

    @rpc
    def office_active(self, user_id: str) -> bool:
        return bool(FAKE_STATE["offices"].get(user_id, False))


STAFF = {"user_id": "staff-1", "role": "staff"}


def member(user_id: str, network_id: str = "net-1") -> dict[str, str]:
    return {"user_id": user_id, "role": "user", "network_id": network_id}


class Stack:
    def __init__(self, cfg: dict[str, Any], engine: Engine) -> None:
        self.cfg = cfg
        self.engine = engine
        self.uri = cfg["AMQP_URI"]
        self.vhost = self.uri.rsplit("/", 1)[-1]

    @contextlib.contextmanager
    def rpc(self, context: dict[str, Any] | None = None, service: str = "plans") -> Iterator[Any]:
        """leads, called by the user ``context`` describes (signed as the gateway signs
        one) or, without one, by the ``service`` named (its bookkeeping RPCs are internal)."""
        with RpcClient(self.uri, principal=context or None,
                       service=None if context else service) as client:
            yield client.leads

    @contextlib.contextmanager
    def anon(self) -> Iterator[Any]:
        with RpcClient(self.uri) as client:
            yield client.leads

    def member(self, user_id: str, network_id: str = "net-1") -> Any:
        return self.rpc(member(user_id, network_id))

    def staff(self) -> Any:
        return self.rpc(STAFF)

    def new_site_key(self, kind: str | None = None) -> str:
        with self.staff() as leads:
            return leads.create_capture_site("Form A", "https://form.example.fr", kind)["key"]

    def capture(self, key: str, items: list[Any]) -> list[dict[str, Any]]:
        with self.rpc() as leads:
            return leads.capture(key, items)["results"]

    def plan(self, plan_id: str, user_id: str, quotas: dict[date, int], *,
             office: bool = True, **kwargs: Any) -> None:
        """Publish a snapshot like plans would, and wait until leads holds it."""
        snap = testing.snapshot(plan_id, user_id, quotas, **kwargs)
        FAKE_STATE["offices"][user_id] = office
        testing.publish_event(self.uri, "plans", "plan_activated", snap)
        testing.wait_for(lambda: self.scalar(
            select(entitlements.c.version).where(entitlements.c.plan_id == plan_id))
            == snap["version"])

    def office(self, user_id: str, active: bool) -> None:
        event = "subscription_activated" if active else "subscription_ended"
        testing.publish_event(self.uri, "accounts", event,
                              events.example(event, user_id=user_id, subscription_id=f"s-{user_id}"))
        testing.wait_for(lambda: self.scalar(
            select(offices.c.active).where(offices.c.user_id == user_id)) is active)

    def permissions(self, user_id: str, granted: list[str], as_of: Any) -> None:
        """Accounts announces the member's permissions; wait until leads holds that word."""
        testing.publish_event(self.uri, "accounts", "member_permissions_changed", events.example(
            "member_permissions_changed", user_id=user_id, network_id="net-1",
            permissions=granted, as_of=as_of.isoformat()))
        testing.wait_for(lambda: self.scalar(
            select(member_permissions.c.as_of).where(member_permissions.c.user_id == user_id))
            == as_of)

    def scalar(self, query: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def rows(self, query: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(query))

    def count(self, table: Any, *where: Any) -> int:
        query = select(func.count()).select_from(table)
        for w in where:
            query = query.where(w)
        return int(self.scalar(query))


@pytest.fixture(scope="session")
def db_url() -> str:
    return infra.fresh_database("leads", testing.MIGRATIONS)


@pytest.fixture
def clean_db(db_url: str) -> Iterator[str]:
    infra.truncate_all(db_url, metadata)
    FAKE_STATE.update({"entitlements": [], "offices": {}, "closed": []})
    yield db_url
    clock.reset()


@pytest.fixture
def vhost() -> Iterator[str]:
    name = infra.fresh_vhost()
    yield name
    infra.delete_vhost(name)


QUIET_TIMERS = {
    "AUTO_DELIVERY_INTERVAL_SECONDS": 3600, "STOCK_CHECK_INTERVAL_SECONDS": 3600,
    "DAY_CLOSE_INTERVAL_SECONDS": 3600, "REKEY_INTERVAL_SECONDS": 0.2,
    "ENTITLEMENT_SYNC_RETRY_SECONDS": 3600, "RPC_TIMEOUT_SECONDS": 2,
}


@pytest.fixture
def cfg(clean_db: str, vhost: str) -> dict[str, Any]:
    return infra.base_config(vhost, DATABASE_URL=clean_db, **QUIET_TIMERS)


@pytest.fixture
def engine(clean_db: str) -> Iterator[Engine]:
    eng = create_engine(clean_db)
    yield eng
    eng.dispose()


@pytest.fixture
def stack(cfg: dict[str, Any], engine: Engine) -> Iterator[Stack]:
    with infra.running(cfg, LeadsService, FakePlans, FakeAccounts):
        yield Stack(cfg, engine)


@pytest.fixture
def fake_state() -> dict[str, Any]:
    return FAKE_STATE


@pytest.fixture
def fakes() -> tuple[type, type]:
    return FakePlans, FakeAccounts
