from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from plans.domain.day_close import DayReport, close_days
from plans.domain.force_majeure import (
    ClaimStatus,
    ForceMajeureClaim,
    ForceMajeureReason,
    approve_force_majeure,
    declare_force_majeure,
    latest_declaration_day,
    reject_force_majeure,
)
from plans.domain.plan import Plan, PlanStatus
from plans.domain.rules import PlanRules
from plans.testing import d, request_absence
from suivi_common.errors import Conflict, Invalid

MakePlan = Callable[..., Plan]


def declare(
    plan: Plan,
    start: date,
    end: date,
    today: date,
    reason: str = "hospitalisation",
    details: str = "",
    rules: PlanRules | None = None,
) -> ForceMajeureClaim:
    return declare_force_majeure(
        claim_id="fm1",
        plan=plan,
        start_date=start,
        end_date=end,
        reason=reason,
        details=details,
        today=today,
        **({"rules": rules} if rules else {}),
    )


@pytest.fixture
def completed_plan(make_plan: MakePlan) -> Plan:
    """30 records over June; nothing taken on 10 and 11 June (1 forfeited each)."""
    plan = make_plan(records=30)
    reports = [DayReport(d(day), taken=0 if day in (10, 11) else 1) for day in range(1, 31)]
    close_days(plan, reports, today=d(1, 7))
    assert plan.status == PlanStatus.COMPLETED and plan.end_date == d(30)
    assert plan.forfeits == {d(10): 1, d(11): 1}
    return plan


@pytest.fixture
def active_plan(make_plan: MakePlan) -> Plan:
    """300 records; nothing taken on 3 and 4 June (10 forfeited each); closed to 5 June."""
    plan = make_plan(records=300)
    reports = [DayReport(d(day), taken=0 if day in (3, 4) else 10) for day in range(1, 6)]
    close_days(plan, reports, today=d(6))
    assert plan.forfeits == {d(3): 10, d(4): 10} and plan.remaining == 250
    return plan


@pytest.mark.parametrize(("days_after_end", "allowed"), [(1, True), (29, True), (30, True), (31, False)])
def test_declared_until_30_days_after_the_end(
    completed_plan: Plan, days_after_end: int, allowed: bool
) -> None:
    today = d(30) + timedelta(days=days_after_end)
    assert latest_declaration_day(completed_plan) == d(30) + timedelta(days=30)
    if allowed:
        assert declare(completed_plan, d(10), d(11), today).status == ClaimStatus.PENDING
    else:
        with pytest.raises(Conflict) as caught:
            declare(completed_plan, d(10), d(11), today)
        assert caught.value.code == "force_majeure_deadline_passed"


def test_declaration_window_is_configurable(completed_plan: Plan) -> None:
    rules = PlanRules(force_majeure_window_days=7)
    declare(completed_plan, d(10), d(11), d(7, 7), rules=rules)
    with pytest.raises(Conflict):
        declare(completed_plan, d(10), d(11), d(8, 7), rules=rules)


def test_declaration_leaves_the_plan_untouched_until_decided(active_plan: Plan) -> None:
    before = active_plan.to_dict()
    claim = declare(active_plan, d(3), d(4), d(6), reason="bereavement")
    assert (claim.status, claim.plan_id, claim.user_id) == (ClaimStatus.PENDING, "p1", "u1")
    assert claim.reason == ForceMajeureReason.BEREAVEMENT and claim.declared_on == d(6)
    assert active_plan.to_dict() == before


@pytest.mark.parametrize("reason", [r.value for r in ForceMajeureReason if r != ForceMajeureReason.OTHER])
def test_every_listed_reason_is_accepted(active_plan: Plan, reason: str) -> None:
    assert declare(active_plan, d(3), d(4), d(6), reason=reason).reason == reason


@pytest.mark.parametrize(
    ("reason", "details", "start", "end", "code", "fields"),
    [
        ("holiday", "", d(3), d(4), "force_majeure_reason_unknown", {"reason"}),
        ("other", "  ", d(3), d(4), "force_majeure_details_required", {"details"}),
        ("hospitalisation", "", d(4), d(3), "force_majeure_dates_order", {"start_date", "end_date"}),
        ("hospitalisation", "", d(7), d(9), "force_majeure_not_started", {"start_date"}),
    ],
)
def test_invalid_declarations(
    active_plan: Plan, reason: str, details: str, start: date, end: date, code: str, fields: set[str]
) -> None:
    with pytest.raises(Invalid) as caught:
        declare(active_plan, start, end, d(6), reason=reason, details=details)
    assert caught.value.code == code
    assert set(caught.value.fields or {}) == fields


def test_other_reason_with_details(active_plan: Plan) -> None:
    claim = declare(active_plan, d(3), d(4), d(6), reason="other", details=" house fire ")
    assert claim.details == "house fire"


@pytest.mark.parametrize("status", [PlanStatus.PENDING_PAYMENT, PlanStatus.CANCELLED])
def test_only_started_plans_are_eligible(make_plan: MakePlan, status: PlanStatus) -> None:
    plan = make_plan()
    plan.status = status
    with pytest.raises(Conflict) as caught:
        declare(plan, d(3), d(4), d(6))
    assert caught.value.code == "force_majeure_plan_not_eligible"


def test_approval_on_an_active_plan(active_plan: Plan) -> None:
    claim = declare(active_plan, d(3), d(4), d(6))
    outcome = approve_force_majeure(claim, active_plan, today=d(7), comment=" ok ")
    assert (outcome.records_restored, outcome.delivery_days_restored, outcome.reopened) == (20, 2, False)
    assert active_plan.remaining == 270
    assert active_plan.forfeits == {}
    assert active_plan.end_date == d(2, 7)
    assert (claim.status, claim.decided_on, claim.staff_comment) == (ClaimStatus.APPROVED, d(7), "ok")
    assert claim.records_restored == 20
    assert active_plan.quota_for(d(6)) == 10  # ceil(270 / 27)


def test_overlapping_approvals_never_restore_twice(active_plan: Plan) -> None:
    approve_force_majeure(declare(active_plan, d(3), d(4), d(6)), active_plan, today=d(6))
    second = declare(active_plan, d(4), d(5), d(6))
    outcome = approve_force_majeure(second, active_plan, today=d(6))
    assert outcome.records_restored == 0
    assert outcome.delivery_days_restored == 1  # only 5 June is new
    assert active_plan.remaining == 270 and active_plan.end_date == d(3, 7)


def test_ongoing_absence_blocks_the_coming_days(active_plan: Plan) -> None:
    claim = declare(active_plan, d(5), d(8), d(6))
    approve_force_majeure(claim, active_plan, today=d(6))
    assert active_plan.quota_for(d(6)) == active_plan.quota_for(d(8)) == 0
    assert active_plan.end_date == d(4, 7)


def test_approval_reopens_a_completed_plan_for_the_lost_days(completed_plan: Plan) -> None:
    claim = declare(completed_plan, d(9), d(11), d(10, 7))
    outcome = approve_force_majeure(claim, completed_plan, today=d(12, 7))
    assert (outcome.records_restored, outcome.delivery_days_restored, outcome.reopened) == (2, 3, True)
    assert completed_plan.status == PlanStatus.ACTIVE
    assert (completed_plan.start_date, completed_plan.end_date) == (d(13, 7), d(15, 7))
    assert completed_plan.remaining == 2
    assert completed_plan.next_day_to_close == d(13, 7)
    assert [completed_plan.quota_for(d(day, 7)) for day in (12, 13, 16)] == [0, 1, 0]


def test_approval_without_forfeits_leaves_a_completed_plan_alone(completed_plan: Plan) -> None:
    before = completed_plan.to_dict()
    claim = declare(completed_plan, d(20), d(21), d(10, 7))
    outcome = approve_force_majeure(claim, completed_plan, today=d(12, 7))
    assert outcome.records_restored == 0 and not outcome.reopened
    assert completed_plan.to_dict() == before
    assert claim.status == ClaimStatus.APPROVED


def test_a_claim_is_decided_once(active_plan: Plan) -> None:
    claim = declare(active_plan, d(3), d(4), d(6))
    approve_force_majeure(claim, active_plan, today=d(7))
    with pytest.raises(Conflict) as caught:
        approve_force_majeure(claim, active_plan, today=d(7))
    assert caught.value.code == "force_majeure_already_decided"
    with pytest.raises(Conflict):
        reject_force_majeure(claim, today=d(7), comment="no")
    assert active_plan.remaining == 270


def test_rejection_needs_a_comment_and_changes_nothing(active_plan: Plan) -> None:
    before = active_plan.to_dict()
    claim = declare(active_plan, d(3), d(4), d(6))
    with pytest.raises(Invalid) as caught:
        reject_force_majeure(claim, today=d(7), comment="  ")
    assert caught.value.code == "force_majeure_comment_required"
    assert claim.status == ClaimStatus.PENDING
    reject_force_majeure(claim, today=d(7), comment="No proof received")
    assert (claim.status, claim.staff_comment, claim.decided_on) == (
        ClaimStatus.REJECTED,
        "No proof received",
        d(7),
    )
    assert active_plan.to_dict() == before


def test_approval_needs_the_claim_plan(active_plan: Plan, make_plan: MakePlan) -> None:
    claim = declare(active_plan, d(3), d(4), d(6))
    with pytest.raises(ValueError):
        approve_force_majeure(claim, make_plan(plan_id="other"), today=d(7))


def test_does_not_use_the_quarterly_planned_absence(active_plan: Plan) -> None:
    approve_force_majeure(declare(active_plan, d(3), d(4), d(6)), active_plan, today=d(6))
    planned = request_absence(d(15), d(16), d(6), [active_plan])
    assert planned.quarter == (2026, 2)


def test_round_trip(active_plan: Plan) -> None:
    claim = declare(active_plan, d(3), d(4), d(6))
    approve_force_majeure(claim, active_plan, today=d(7), comment="fine")
    plain = claim.to_dict()
    assert plain["reason"] == "hospitalisation" and plain["status"] == "approved"
    assert ForceMajeureClaim.from_dict(plain) == claim
