from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from plans.domain.day_close import DayReport, close_day
from plans.domain.plan import Plan, PlanStatus
from suivi_common.errors import Conflict

MakePlan = Callable[..., Plan]


def test_refund_on_active_plan_adds_one_record(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    today = date(2026, 6, 1)
    plan.credit_refund(today)
    assert plan.remaining == 301
    assert plan.quota_for(today) == 11
    assert plan.status == PlanStatus.ACTIVE


def test_refund_on_completed_plan_reopens_it_from_tomorrow(make_plan: MakePlan) -> None:
    plan = make_plan(records=30)
    plan.remaining = 0
    plan.status = PlanStatus.COMPLETED
    plan.last_closed_date = date(2026, 6, 30)
    plan.block_dates([date(2026, 6, 10), date(2026, 7, 20)])
    today = date(2026, 7, 10)
    tomorrow = today + timedelta(days=1)
    plan.credit_refund(today)
    assert plan.status == PlanStatus.ACTIVE
    assert (plan.remaining, plan.start_date, plan.end_date) == (1, tomorrow, tomorrow)
    assert plan.next_day_to_close == tomorrow
    assert plan.quota_for(today) == 0
    assert plan.quota_for(tomorrow) == 1
    assert plan.blocked_dates == {date(2026, 7, 20)}
    close_day(plan, DayReport(tomorrow, taken=1), today=tomorrow + timedelta(days=1))
    assert plan.status == PlanStatus.COMPLETED


@pytest.mark.parametrize("status", [PlanStatus.PENDING_PAYMENT, PlanStatus.CANCELLED])
def test_refund_needs_a_started_plan(make_plan: MakePlan, status: PlanStatus) -> None:
    plan = make_plan()
    plan.status = status
    with pytest.raises(Conflict) as caught:
        plan.credit_refund(date(2026, 6, 2))
    assert caught.value.code == "plan_not_refundable"
    assert plan.remaining == 300
