"""Data-subject tasks on plans' data: the person's user ids come from (in-memory)
accounts, the identifiers from (in-memory) compliance."""
from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plans.models import absences as absences_table
from plans.testing import MONDAY, STAFF, InMemoryCompliance, freeze_on, task_event
from plans.usecases import absences, subject_requests
from suivi_common.errors import Conflict

PDF = b"%PDF-1.4\n% a proof\n"


def run(world: Any, kind: str, email: str | None = "bruno@soleil.test", phone: str | None = None,
        request_id: str | None = None, attempt: int = 1, service: str = "plans") -> str:
    request_id = request_id or str(uuid.uuid4())
    world.compliance.open_task(request_id, kind, email, phone)
    world.call(subject_requests.on_task_requested, InMemoryCompliance(world.compliance),
               task_event(request_id, kind, attempt, service), who=None)
    return request_id


def reports(world: Any, request_id: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "_type"}
            for e in world.events("dsr_task_reported") if e["request_id"] == request_id]


@pytest.fixture
def claim(world: Any) -> dict[str, Any]:
    """u1 (bruno@soleil.test) with a plan and a force-majeure claim with its proof."""
    world.accounts.people = {"bruno@soleil.test": ["u1"], "+33612345678": ["u1", "u2"]}
    plan_id = world.active_plan(300)
    freeze_on(MONDAY + timedelta(days=5))  # the absence (Tuesday, Wednesday) has begun
    claim = world.call(absences.request_absence, "2026-06-02", "2026-06-03", force_majeure=True,
                       reason="hospitalisation", details="Hôpital Lariboisière", plan_id=plan_id)
    world.call(absences.upload_proof, claim["id"], base64.b64encode(PDF).decode())
    return dict(claim, plan_id=plan_id)


def test_access_gives_the_plans_and_the_absence_with_its_proof(world: Any,
                                                               claim: dict[str, Any]) -> None:
    rid = run(world, "access")
    [answer] = reports(world, rid)
    assert answer["found"] is True and "error" not in answer
    data = answer["data"]
    assert [p["id"] for p in data["plans"]] == [claim["plan_id"]]
    [absence] = data["absences"]
    assert absence["details"] == "Hôpital Lariboisière"
    assert base64.b64decode(absence["proof"]["content_b64"]) == PDF
    assert answer["records_affected"] == 2
    assert world.compliance.asked == [rid]


def test_someone_plans_knows_nothing_about(world: Any, claim: dict[str, Any]) -> None:
    rid = run(world, "erasure", email="nobody@soleil.test")
    assert reports(world, rid) == [{"request_id": rid, "service": "plans", "found": False,
                                    "records_affected": 0}]
    run(world, "erasure", service="leads")  # not plans' task: not even asked
    assert world.compliance.asked == [rid]


def test_erasure_empties_the_absence_and_keeps_the_order(world: Any,
                                                         claim: dict[str, Any]) -> None:
    rid = run(world, "erasure")
    [answer] = reports(world, rid)
    assert (answer["found"], answer["records_affected"]) == (True, 1)
    with Session(world.engine) as session:
        row = session.execute(select(absences_table)).one()
    assert (row.details, row.proof, row.proof_mime, row.staff_comment) == (None, None, None, None)
    assert row.erased_at is not None and row.status == "pending"
    assert world.plan(claim["plan_id"]).plan.records_ordered == 300
    # asked again: the same report, nothing done twice
    run(world, "erasure", request_id=rid, attempt=2)
    assert reports(world, rid) == [answer, answer]


def test_restriction_hides_details_and_proof_from_staff(world: Any,
                                                       claim: dict[str, Any]) -> None:
    rid = run(world, "restriction", email=None, phone="+33699999999")
    assert reports(world, rid)[0]["found"] is False
    world.accounts.people["+33699999999"] = ["u1"]
    rid = run(world, "restriction", email=None, phone="+33699999999")
    assert reports(world, rid)[0]["records_affected"] == 1
    [pending] = world.call(absences.staff_list_absences, "pending", who=STAFF)["items"]
    assert pending["details"] is None
    with pytest.raises(Conflict) as refused:
        world.call(absences.get_proof, claim["id"], who=STAFF)
    assert refused.value.code == "processing_restricted"
    assert world.call(absences.get_proof, claim["id"])["mime"] == "application/pdf"  # owner
    assert world.call(absences.list_absences)["items"][0]["details"] == "Hôpital Lariboisière"


def test_a_shared_phone_is_ambiguous(world: Any, claim: dict[str, Any]) -> None:
    rid = run(world, "erasure", email=None, phone="+33612345678")
    [answer] = reports(world, rid)
    assert answer["error"].startswith("ambiguous_subject")
    assert world.call(absences.list_absences)["items"][0]["details"] == "Hôpital Lariboisière"


@pytest.mark.parametrize("kind", ["rectification", "objection"])
def test_nothing_to_change_for_rectification_and_objection(world: Any, claim: dict[str, Any],
                                                           kind: str) -> None:
    rid = run(world, kind)
    assert reports(world, rid) == [{"request_id": rid, "service": "plans", "found": True,
                                    "records_affected": 0}]


def test_a_task_no_longer_open_does_nothing(world: Any, claim: dict[str, Any]) -> None:
    rid = str(uuid.uuid4())
    world.call(subject_requests.on_task_requested, InMemoryCompliance(world.compliance),
               task_event(rid, "erasure"), who=None)
    assert reports(world, rid) == []
    assert world.call(absences.list_absences)["items"][0]["details"] == "Hôpital Lariboisière"
