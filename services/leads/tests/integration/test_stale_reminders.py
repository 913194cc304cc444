"""The stale-lead reminder through the running leads service: the month's run (internal
RPC, the timer's) publishes one ``stale_leads_reminder_due`` per owner with stale leads,
through the outbox and the relay, and a second run of the month publishes nothing."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from nameko.events import event_handler

from leads import testing
from leads.service import LeadsService
from suivi_common import clock, events
from suivi_common.clock import PARIS
from suivi_common.errors import Forbidden
from suivi_common.rpc import RpcClient
from suivi_common.testing import infra
from suivi_common.testing.waiting import broker_settled, wait_for

SEEN: list[dict[str, Any]] = []


class FakeMailer:
    name = "mailer"

    @event_handler("leads", "stale_leads_reminder_due")
    def on_due(self, payload: dict[str, Any]) -> None:
        events.validate("stale_leads_reminder_due", payload)
        SEEN.append(payload)


@pytest.fixture
def running(cfg: dict[str, Any], fakes: tuple[type, type],
            fake_state: dict[str, Any]) -> Iterator[str]:
    SEEN.clear()
    fake_state["offices"].update({"u1": True, "u2": True})
    with infra.running(cfg, LeadsService, *fakes, FakeMailer):
        yield cfg["AMQP_URI"]


def create(uri: str, owner: str, i: int) -> str:
    with RpcClient(uri, principal={"user_id": owner, "role": "user",
                                   "network_id": "net-1"}) as client:
        return str(client.leads.office_create_lead(testing.raw_lead(i))["id"])


def test_the_month_run_reminds_each_owner_once(running: str, vhost: str) -> None:
    uri = running
    clock.freeze(datetime(2025, 10, 3, 10, tzinfo=PARIS))
    for i in range(3):
        create(uri, "u1", i)
    create(uri, "u2", 10)
    clock.freeze(datetime(2026, 6, 1, 10, tzinfo=PARIS))
    create(uri, "u2", 11)  # recent: not counted
    clock.freeze(datetime(2026, 12, 1, 0, 30, tzinfo=PARIS))
    with RpcClient(uri, service="leads") as client:
        first = client.leads.stale_reminder_run()
        second = client.leads.stale_reminder_run()
    assert first["reminded"] == 2 and first["inactive_since"] == "2025-12-02"
    assert second == {"month": "2026-12-01", "due": False, "reminded": 0}
    wait_for(lambda: len(SEEN) >= 2, what="two reminders")
    wait_for(lambda: broker_settled(vhost), what="the broker settled")
    assert sorted((p["user_id"], p["count"]) for p in SEEN) == [("u1", 3), ("u2", 1)]


def test_users_cannot_run_it(running: str) -> None:
    with RpcClient(running, principal={"user_id": "u1", "role": "user",
                                       "network_id": "net-1"}) as client:
        with pytest.raises(Forbidden):
            client.leads.stale_reminder_run()
