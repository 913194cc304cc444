"""A data-subject task over the broker: compliance's event, its ``dsr_subject`` and
accounts' ``subject_users`` asked as plans, plans' report, and the data map."""
from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from typing import Any

import pytest

from plans.testing import MONDAY, STAFF, U1, freeze_on, task_event, wait_for
from suivi_common.errors import Forbidden, NotFound

PDF = b"%PDF-1.4\n% a proof\n"


def send_task(world: Any, kind: str, request_id: str, attempt: int = 1) -> None:
    world.publish("compliance", "dsr_task_requested", task_event(request_id, kind, attempt),
                  message_id=f"dsr:{request_id}:plans:{attempt}")


def report_of(world: Any, request_id: str, count: int = 1) -> list[dict[str, Any]]:
    return wait_for(lambda: (lambda found: found if len(found) >= count else None)(
        [r for r in world.fake.reports if r["request_id"] == request_id]),
        what=f"{count} report(s) of {request_id}")


@pytest.fixture
def claim(world: Any) -> dict[str, Any]:
    bought = world.call(U1, "create_plan", 300, "standard", "FR", "card")
    world.pay(bought["payment"]["id"])
    world.wait_snapshot(bought["id"], 1)
    freeze_on(MONDAY + timedelta(days=5))
    claim = world.call(U1, "request_absence", "2026-06-02", "2026-06-03", True,
                       "hospitalisation", "Hôpital Lariboisière", bought["id"])
    world.call(U1, "upload_proof", claim["id"], base64.b64encode(PDF).decode())
    world.fake.accounts.people = {"bruno@soleil.test": ["u1"]}
    return claim


def test_erasure_then_its_retry(world: Any, claim: dict[str, Any]) -> None:
    rid = str(uuid.uuid4())
    world.fake.compliance.open_task(rid, "erasure", "bruno@soleil.test")
    send_task(world, "erasure", rid)
    [first] = report_of(world, rid)
    assert first == {"request_id": rid, "service": "plans", "found": True, "records_affected": 1}
    assert ("compliance.dsr_subject", "plans") in world.fake.callers
    assert ("accounts.subject_users", "plans") in world.fake.callers
    with pytest.raises(NotFound):  # nothing left to show
        world.call(STAFF, "get_proof", claim["id"])
    assert world.call(U1, "list_absences")["items"][0]["details"] is None

    send_task(world, "erasure", rid, attempt=2)  # compliance thought it late
    assert report_of(world, rid, 2)[1] == first
    world.settle()
    assert len([r for r in world.fake.reports if r["request_id"] == rid]) == 2


def test_access_reports_the_data(world: Any, claim: dict[str, Any]) -> None:
    rid = str(uuid.uuid4())
    world.fake.compliance.open_task(rid, "access", "bruno@soleil.test")
    send_task(world, "access", rid)
    [answer] = report_of(world, rid)
    assert answer["data"]["absences"][0]["details"] == "Hôpital Lariboisière"
    assert answer["data"]["plans"][0]["records_ordered"] == 300


def test_the_data_map_is_for_services(world: Any) -> None:
    from suivi_common.rpc import RpcClient

    with RpcClient(world.uri, service="compliance") as client:
        assert client.plans.data_map()["service"] == "plans"
    with pytest.raises(Forbidden):
        world.call(STAFF, "data_map")
