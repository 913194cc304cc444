from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from plans.domain.plan import Plan, PlanStatus
from plans.domain.pricing import DEFAULT_PRICE_TABLE, DEFAULT_PRICE_TABLE_CONFIG, Tier, parse_price_table
from suivi_common.errors import Conflict, Invalid

MakePlan = Callable[..., Plan]


def test_order_creates_an_unpaid_plan_with_locked_price(make_plan: MakePlan) -> None:
    plan = make_plan(records=300, tier="premium", country="fr", start=None)
    assert plan.status == PlanStatus.PENDING_PAYMENT
    assert (plan.country, plan.tier) == ("FR", Tier.PREMIUM)
    assert (plan.records_ordered, plan.remaining, plan.unit_price_cents) == (300, 300, 400)
    assert plan.start_date is None and plan.end_date is None
    assert plan.quota_for(date(2026, 6, 1)) == 0


def test_price_is_locked_at_order_time_not_at_activation(make_plan: MakePlan) -> None:
    """Art. 6: billed at the tariff in force when the order was validated."""
    plan = make_plan(records=300, start=None)
    dearer = parse_price_table({**DEFAULT_PRICE_TABLE_CONFIG, "standard": [[1, 999]]})
    assert dearer.unit_price_cents(Tier.STANDARD, 300) == 999
    plan.activate(date(2026, 6, 1))
    assert plan.unit_price_cents == 250


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"records": 29}, "records_out_of_bounds", "records"),
        ({"records": 3001}, "records_out_of_bounds", "records"),
        ({"tier": "gold"}, "tier_unknown", "tier"),
        ({"country": "FRA"}, "country_invalid", "country"),
        ({"country": "F1"}, "country_invalid", "country"),
        ({"country": ""}, "country_invalid", "country"),
    ],
)
def test_order_validation(kwargs: dict[str, Any], code: str, field: str) -> None:
    args: dict[str, Any] = {"records": 300, "tier": "standard", "country": "FR"}
    args.update(kwargs)
    with pytest.raises(Invalid) as caught:
        Plan.order(plan_id="p", user_id="u", table=DEFAULT_PRICE_TABLE, **args)
    assert caught.value.code == code
    assert set(caught.value.fields or {}) == {field}


def test_activation_starts_delivery_today_for_30_days(make_plan: MakePlan) -> None:
    plan = make_plan(records=300, start=None)
    today = date(2026, 6, 3)
    plan.activate(today)
    assert plan.status == PlanStatus.ACTIVE
    assert plan.start_date == plan.activated_on == today
    assert plan.end_date == today + timedelta(days=29)
    assert plan.remaining_delivery_days(today) == 30
    assert plan.quota_for(today) == 10
    assert plan.next_day_to_close == today


def test_activating_twice_is_a_conflict(make_plan: MakePlan) -> None:
    plan = make_plan()
    with pytest.raises(Conflict) as caught:
        plan.activate(date(2026, 6, 2))
    assert caught.value.code == "plan_not_pending_payment"


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (PlanStatus.PENDING_PAYMENT, True),
        (PlanStatus.ACTIVE, True),
        (PlanStatus.COMPLETED, False),
        (PlanStatus.CANCELLED, False),
    ],
)
def test_cancel(make_plan: MakePlan, status: PlanStatus, allowed: bool) -> None:
    plan = make_plan()
    plan.status = status
    if allowed:
        plan.cancel()
        assert plan.status == PlanStatus.CANCELLED
    else:
        with pytest.raises(Conflict) as caught:
            plan.cancel()
        assert caught.value.code == "plan_not_cancellable"
        assert plan.status == status


def test_cancelled_plan_owes_no_quota(make_plan: MakePlan) -> None:
    plan = make_plan()
    plan.cancel()
    assert plan.quota_for(date(2026, 6, 1)) == 0


def test_to_dict_is_json_ready_and_round_trips(make_plan: MakePlan) -> None:
    plan = make_plan(records=300, tier="premium_plus")
    plan.block_dates([date(2026, 6, 10), date(2026, 6, 5)])
    plan.forfeits = {date(2026, 6, 2): 3, date(2026, 6, 1): 1}
    plan.credit_cents = 180
    plan.last_tier_change_on = date(2026, 6, 2)
    plan.last_closed_date = date(2026, 6, 2)
    plain = plan.to_dict()
    assert json.loads(json.dumps(plain)) == plain
    assert plain["blocked_dates"] == ["2026-06-05", "2026-06-10"]
    assert plain["forfeits"] == [["2026-06-01", 1], ["2026-06-02", 3]]
    assert plain["tier"] == "premium_plus" and plain["status"] == "active"
    assert Plan.from_dict(plain) == plan


def test_from_dict_accepts_date_objects_and_defaults(make_plan: MakePlan) -> None:
    plan = make_plan(start=None)
    raw = plan.to_dict()
    raw["start_date"] = date(2026, 6, 1)
    raw["status"] = "active"
    del raw["blocked_dates"], raw["forfeits"], raw["credit_cents"], raw["delivery_days_total"]
    restored = Plan.from_dict(raw)
    assert restored.start_date == date(2026, 6, 1)
    assert restored.blocked_dates == set() and restored.forfeits == {}
    assert restored.end_date == date(2026, 6, 30)


def test_a_plan_buys_one_kind_and_older_state_reads_as_construction() -> None:
    """Issue 13 §1: the kind is kept in the plan's state; state written before kinds has
    none and is a construction plan."""
    from plans.domain.plan import Plan
    from plans.domain.pricing import DEFAULT_PRICE_TABLE_CONFIG, parse_price_table

    table = parse_price_table(DEFAULT_PRICE_TABLE_CONFIG)
    plan = Plan.order(plan_id="p", user_id="u", country="FR", tier="standard", records=300,
                      table=table, kind="distribution")
    assert plan.kind == "distribution"
    assert Plan.from_dict(plan.to_dict()).kind == "distribution"
    old = {k: v for k, v in plan.to_dict().items() if k != "kind"}
    assert Plan.from_dict(old).kind == "construction"
    assert Plan.order(plan_id="q", user_id="u", country="FR", tier="standard", records=300,
                      table=table).kind == "construction"
