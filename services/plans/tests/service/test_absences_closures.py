"""Planned and force-majeure absences, proofs, staff decisions and sales closures."""
from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plans.models import absences as absences_table
from plans.testing import MONDAY, STAFF, U2, freeze_on
from plans.usecases import absences, closures, ordering
from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound

D = timedelta(days=1)
PDF = b"%PDF-1.4\n% a proof\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- planned absences ------------------------------------------------------------------------------

def test_a_planned_absence_lengthens_every_active_plan_of_the_user(world: Any) -> None:
    first, second = world.active_plan(300), world.active_plan(60, "premium", "BE")
    others = world.active_plan(300, who=U2)
    absence = world.call(absences.request_absence, "2026-06-08", "2026-06-10")
    assert absence["kind"] == "planned" and absence["status"] == "approved"
    assert sorted(absence["plan_ids"]) == sorted([first, second])
    for plan_id in (first, second):
        assert world.plan(plan_id).plan.end_date == MONDAY + 32 * D
    assert world.plan(others).plan.end_date == MONDAY + 29 * D
    changed = world.events("plan_changed")
    assert {e["plan_id"] for e in changed} == {first, second}
    assert all("2026-06-09" not in e["quota_schedule"] for e in changed)
    assert world.events("absence_approved")[0]["plan_ids"] == absence["plan_ids"]
    assert world.call(absences.list_absences)["items"][0]["id"] == absence["id"]


@pytest.mark.parametrize(("start", "end", "error", "code"), [
    ("2026-06-10", "2026-06-08", Invalid, "absence_dates_order"),
    ("2026-06-01", "2026-06-02", Invalid, "absence_start_not_in_future"),
    ("2026-06-02", "2026-07-15", Invalid, "absence_too_long"),
    ("2026-06-02", "2026-06-32", Invalid, "date_invalid"),
])
def test_bad_planned_absences_change_nothing(world: Any, start: str, end: str, error: type,
                                             code: str) -> None:
    plan_id = world.active_plan()
    before = world.plan(plan_id)
    with pytest.raises(error) as err:
        world.call(absences.request_absence, start, end)
    assert err.value.code == code
    assert world.plan(plan_id) == before
    assert world.call(absences.list_absences)["items"] == []


def test_planned_absence_notice_quarter_and_active_plan_rules(world: Any) -> None:
    with pytest.raises(Conflict) as none_active:
        world.call(absences.request_absence, "2026-06-08", "2026-06-08")
    assert none_active.value.code == "absence_no_active_plan"
    world.active_plan()
    freeze_on(MONDAY + 5 * D)  # Saturday: too late for Monday 8 (notice: the Friday before)
    with pytest.raises(Conflict) as late:
        world.call(absences.request_absence, "2026-06-08", "2026-06-08")
    assert late.value.code == "absence_notice_too_late"
    world.call(absences.request_absence, "2026-06-09", "2026-06-09")
    with pytest.raises(Conflict) as quarter:
        world.call(absences.request_absence, "2026-06-20", "2026-06-21")
    assert quarter.value.code == "absence_quarterly_limit"
    world.call(absences.request_absence, "2026-07-06", "2026-07-07")  # next quarter


# --- force majeure ----------------------------------------------------------------------------------

def declare(world: Any, plan_id: str | None, **extra: Any) -> dict[str, Any]:
    args = {"force_majeure": True, "reason": "hospitalisation", "details": "Hôpital Lariboisière",
            "plan_id": plan_id, **extra}
    return world.call(absences.request_absence, "2026-06-02", "2026-06-03", **args)


def test_force_majeure_approved_gives_back_forfeits_and_moves_the_end(world: Any) -> None:
    plan_id = world.active_plan(300)
    world.take_quota(plan_id)  # Monday taken, Tuesday and Wednesday forfeited
    world.close_through(MONDAY + 5 * D)
    plan = world.plan(plan_id).plan
    assert plan.forfeits[MONDAY + D] == 10 and plan.forfeits[MONDAY + 2 * D] == 10
    claim = declare(world, plan_id)
    assert claim["status"] == "pending" and claim["details"] == "Hôpital Lariboisière"
    with Session(world.engine) as session:  # details are stored encrypted
        raw = session.execute(select(absences_table.c.details)).scalar_one()
    assert b"Lariboisi" not in raw

    claim = world.call(absences.upload_proof, claim["id"], b64(PDF))
    assert claim["proof"]["mime"] == "application/pdf" and claim["proof"]["size"] == len(PDF)
    pending = world.call(absences.staff_list_absences, "pending", who=STAFF)["items"]
    assert [c["id"] for c in pending] == [claim["id"]]
    proof = world.call(absences.get_proof, claim["id"], who=STAFF)
    assert base64.b64decode(proof["content_b64"]) == PDF

    decided = world.call(absences.decide, claim["id"], True, "Get well soon", who=STAFF)
    assert decided["status"] == "approved" and decided["records_restored"] == 20
    after = world.plan(plan_id).plan
    assert after.remaining == plan.remaining + 20 and after.end_date == plan.end_date + 2 * D
    assert world.events("absence_approved")[-1]["records_restored"] == 20
    with pytest.raises(Conflict) as twice:
        world.call(absences.decide, claim["id"], False, "no", who=STAFF)
    assert twice.value.code == "force_majeure_already_decided"


def test_force_majeure_rejection_needs_a_comment_and_changes_nothing(world: Any) -> None:
    plan_id = world.active_plan(300)
    world.close_through(MONDAY + 5 * D)
    claim = declare(world, plan_id)
    before = world.plan(plan_id)
    with pytest.raises(Invalid):
        world.call(absences.decide, claim["id"], False, "  ", who=STAFF)
    rejected = world.call(absences.decide, claim["id"], False, "No proof of the stay", who=STAFF)
    assert rejected["status"] == "rejected" and rejected["staff_comment"] == "No proof of the stay"
    assert world.plan(plan_id) == before
    assert world.events("absence_rejected")[0]["comment"] == "No proof of the stay"


def test_force_majeure_refusals(world: Any) -> None:
    plan_id = world.active_plan(300)
    freeze_on(MONDAY + 5 * D)
    with pytest.raises(NotFound):
        declare(world, world.active_plan(300, who=U2))
    with pytest.raises(Invalid) as reason:
        declare(world, plan_id, reason="boredom")
    assert reason.value.code == "force_majeure_reason_unknown"
    with pytest.raises(Invalid) as missing:
        declare(world, None)
    assert missing.value.code == "plan_id_required"
    claim = declare(world, plan_id)
    for bad, code in ((b"MZ\x90\x00 not a pdf", "proof_type_not_allowed"), (b"", "proof_empty")):
        with pytest.raises(Invalid) as err:
            world.call(absences.upload_proof, claim["id"], b64(bad))
        assert err.value.code == code
    with pytest.raises(NotFound):
        world.call(absences.upload_proof, claim["id"], b64(PDF), who=U2)
    with pytest.raises(Forbidden):
        world.call(absences.decide, claim["id"], True, "ok")
    freeze_on(MONDAY + 61 * D)  # 30 days after the plan's end (30 June) have passed
    with pytest.raises(Conflict) as late:
        declare(world, plan_id)
    assert late.value.code == "force_majeure_deadline_passed"


# --- sales closures ----------------------------------------------------------------------------------

def test_a_sales_closure_lengthens_only_the_concerned_plans(world: Any) -> None:
    fr_standard = world.active_plan(300, "standard", "FR")
    fr_premium = world.active_plan(300, "premium", "FR")
    be_standard = world.active_plan(300, "standard", "BE")
    closure = world.call(closures.declare, "2026-06-01", "2026-06-03", ["fr"], ["standard"],
                         "Stock rebuilding", who=STAFF)
    assert closure["countries"] == ["FR"] and closure["plans_affected"] == 1
    assert world.plan(fr_standard).plan.end_date == MONDAY + 32 * D
    assert world.plan(fr_premium).plan.end_date == MONDAY + 29 * D
    assert world.plan(be_standard).plan.end_date == MONDAY + 29 * D
    [event] = world.events("sales_closure_declared")
    assert event["plan_ids"] == [fr_standard]
    snapshot = world.events("plan_changed")[-1]
    assert snapshot["plan_id"] == fr_standard and "2026-06-01" not in snapshot["quota_schedule"]
    assert world.call(closures.list_closures, who=STAFF)["items"][0]["id"] == closure["id"]


@pytest.mark.parametrize(("args", "code"), [
    (("2026-06-05", "2026-06-04", None, None), "closure_dates_order"),
    (("2026-05-31", "2026-06-04", None, None), "closure_starts_in_past"),
    (("2026-06-05", "2026-06-06", ["France"], None), "country_invalid"),
    (("2026-06-05", "2026-06-06", None, ["gold"]), "tier_unknown"),
])
def test_bad_closures_change_nothing(world: Any, args: tuple[Any, ...], code: str) -> None:
    plan_id = world.active_plan()
    with pytest.raises(Invalid) as err:
        world.call(closures.declare, *args, who=STAFF)
    assert err.value.code == code
    assert world.plan(plan_id).plan.end_date == MONDAY + 29 * D
    assert world.call(closures.list_closures, who=STAFF)["items"] == []
    with pytest.raises(Forbidden):
        world.call(closures.declare, "2026-06-05", "2026-06-06")


def test_plans_are_refused_while_their_sales_are_closed(world: Any) -> None:
    fr_plan = world.active_plan(300, "standard", "FR")
    world.call(closures.declare, "2026-06-01", "2026-06-03", ["fr"], None, "Stock", who=STAFF)
    world.call(closures.declare, "2026-06-04", "2026-06-05", ["fr"], ["standard"], "", who=STAFF)
    with pytest.raises(Conflict) as err:
        world.buy(300, "standard", "FR")
    assert err.value.code == "sales_closed"
    assert err.value.fields == {"reopens_on": "2026-06-06", "country": "FR", "tier": "standard"}
    with pytest.raises(Conflict) as err:
        world.buy(300, "premium", "FR")  # the second closure is for standard only
    assert err.value.fields["reopens_on"] == "2026-06-04"
    with pytest.raises(Conflict) as err:
        world.call(ordering.extend_plan, fr_plan, 100, "transfer")
    assert err.value.code == "sales_closed"
    assert world.buy(300, "standard", "BE")["status"] == "pending_payment"  # open elsewhere
