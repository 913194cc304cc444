from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from plans.domain.closures import apply_sales_closure, declare_sales_closure
from plans.domain.forecast import DemandKey, forecast_demand, plan_schedule
from plans.domain.plan import Plan, PlanStatus
from plans.domain.pricing import Tier
from plans.testing import d
from suivi_common.errors import Invalid

MakePlan = Callable[..., Plan]


def key(day: date, country: str = "FR", tier: Tier = Tier.STANDARD) -> DemandKey:
    return DemandKey(day, country, tier)


def test_demand_is_the_sum_of_quotas_per_day_country_and_tier(make_plan: MakePlan) -> None:
    plans = [
        make_plan(plan_id="a", records=300),
        make_plan(plan_id="b", records=600),
        make_plan(plan_id="c", records=300, tier="premium"),
        make_plan(plan_id="d", records=90, country="BE"),
    ]
    demand = forecast_demand(plans, today=d(1), horizon_days=2)
    assert demand == {
        key(d(1)): 30,
        key(d(1), tier=Tier.PREMIUM): 10,
        key(d(1), "BE"): 3,
        key(d(2)): 30,
        key(d(2), tier=Tier.PREMIUM): 10,
        key(d(2), "BE"): 3,
    }
    assert list(demand) == sorted(demand)


def test_blocked_days_contribute_nothing(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    plan.block_dates([d(2)])
    apply_sales_closure(
        declare_sales_closure(closure_id="c", start_date=d(3), end_date=d(3), today=d(1)), [plan]
    )
    demand = forecast_demand([plan], today=d(1), horizon_days=4)
    assert demand == {key(d(1)): 10, key(d(4)): 10}


@pytest.mark.parametrize("status", [PlanStatus.PENDING_PAYMENT, PlanStatus.COMPLETED, PlanStatus.CANCELLED])
def test_only_active_plans_count(make_plan: MakePlan, status: PlanStatus) -> None:
    plan = make_plan()
    plan.status = status
    assert forecast_demand([plan], today=d(1), horizon_days=5) == {}


def test_full_takes_deliver_exactly_the_order_then_stop(make_plan: MakePlan) -> None:
    plan = make_plan(records=31)
    schedule = plan_schedule(plan, d(1), d(20, 7))
    assert schedule[d(1)] == 2 and schedule[d(2)] == 1
    assert sum(schedule.values()) == 31
    assert max(schedule) == d(30)
    demand = forecast_demand([plan], today=d(1), horizon_days=50)
    assert sum(demand.values()) == 31


def test_simulation_starts_at_the_first_unclosed_day(make_plan: MakePlan) -> None:
    plan = make_plan(records=31)  # nothing closed yet; 1 and 2 June still open
    demand = forecast_demand([plan], today=d(3), horizon_days=1)
    assert demand == {key(d(3)): 1}  # after 2 + 1 expected on 1-2 June, not ceil(31 / 28) = 2


@pytest.mark.parametrize("horizon", [0, -1, True, 1.5])
def test_horizon_must_be_positive(make_plan: MakePlan, horizon: Any) -> None:
    with pytest.raises(Invalid) as caught:
        forecast_demand([make_plan()], today=d(1), horizon_days=horizon)
    assert caught.value.code == "forecast_horizon_invalid"


def test_demand_is_per_office_kind(make_plan: MakePlan) -> None:
    """Issue 13 §1: distribution and construction plans draw on different stock."""
    plans = [make_plan(plan_id="a", records=300), make_plan(plan_id="b", records=300)]
    plans[1].kind = "distribution"
    demand = forecast_demand(plans, today=d(1), horizon_days=1)
    assert demand == {key(d(1)): 10, DemandKey(d(1), "FR", Tier.STANDARD, "distribution"): 10}
