from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from plans.domain.plan import Plan, PlanStatus
from plans.domain.pricing import DEFAULT_PRICE_TABLE, Tier
from suivi_common.errors import Conflict, Invalid

MakePlan = Callable[..., Plan]
TODAY = date(2026, 6, 5)


@pytest.mark.parametrize(
    ("records", "tier", "target", "after", "unit_after", "residue"),
    [
        # upgrade: 300 x 2.50 = 750.00 EUR buys 187 x 4.00, 2.00 EUR left as credit
        (300, "standard", "premium", 187, 400, 200),
        (300, "standard", "premium_plus", 129, 580, 180),
        # downgrade: 101 x 5.80 = 585.80 EUR buys 146 x 4.00, 1.80 EUR credit
        (101, "premium_plus", "premium", 146, 400, 180),
        (300, "premium", "standard", 480, 250, 0),
    ],
)
def test_tier_change_preserves_value(
    make_plan: MakePlan, records: int, tier: str, target: str, after: int, unit_after: int, residue: int
) -> None:
    plan = make_plan(records=records, tier=tier)
    unit_before = plan.unit_price_cents
    change = plan.change_tier(target, DEFAULT_PRICE_TABLE, TODAY)
    assert (change.records_before, change.records_after) == (records, after)
    assert (change.unit_price_before_cents, change.unit_price_after_cents) == (unit_before, unit_after)
    assert change.residue_cents == residue
    assert plan.tier == Tier(target) and plan.unit_price_cents == unit_after
    assert plan.remaining == after and plan.credit_cents == residue
    assert after * unit_after + residue == records * unit_before
    assert plan.records_ordered == records  # the band stays that of the paid order
    assert plan.last_tier_change_on == TODAY


def test_upgrade_loses_records_downgrade_gains_records(make_plan: MakePlan) -> None:
    up = make_plan(records=300, tier="standard")
    up.change_tier("premium", DEFAULT_PRICE_TABLE, TODAY)
    assert up.remaining < 300 and up.credit_cents > 0
    down = make_plan(records=300, tier="premium")
    down.change_tier("standard", DEFAULT_PRICE_TABLE, TODAY)
    assert down.remaining > 300


def test_quota_is_recomputed(make_plan: MakePlan) -> None:
    plan = make_plan(records=300, tier="premium")
    assert plan.quota_for(TODAY) == 12  # ceil(300 / 26)
    plan.change_tier("standard", DEFAULT_PRICE_TABLE, TODAY)
    assert plan.quota_for(TODAY) == 19  # ceil(480 / 26)


def test_leads_taken_today_are_not_converted(make_plan: MakePlan) -> None:
    plan = make_plan(records=300, tier="standard")
    change = plan.change_tier("premium", DEFAULT_PRICE_TABLE, TODAY, taken_today=10)
    assert change.records_before == 290
    assert change.records_after == 181  # 290 x 250 = 72 500 = 181 x 400 + 100
    assert plan.remaining == 191  # the 10 taken leave at today's close
    assert plan.credit_cents == 100


def test_second_change_the_same_day_is_refused(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    plan.change_tier("premium", DEFAULT_PRICE_TABLE, TODAY)
    before = plan.to_dict()
    with pytest.raises(Conflict) as caught:
        plan.change_tier("standard", DEFAULT_PRICE_TABLE, TODAY)
    assert caught.value.code == "tier_change_daily_limit"
    assert plan.to_dict() == before


def test_change_allowed_again_the_next_calendar_day(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    plan.change_tier("premium", DEFAULT_PRICE_TABLE, TODAY)
    plan.change_tier("standard", DEFAULT_PRICE_TABLE, date(2026, 6, 6))
    # 187 x 4.00 = 748.00 EUR back at 2.50 = 299 records + 0.50 EUR; credit 2.00 + 0.50 EUR
    assert plan.tier == Tier.STANDARD
    assert (plan.remaining, plan.credit_cents) == (299, 250)
    assert plan.remaining * 250 + plan.credit_cents == 300 * 250  # nothing lost on a round trip


def test_preview_changes_nothing(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    before = plan.to_dict()
    change = plan.preview_tier_change("premium", DEFAULT_PRICE_TABLE)
    assert change.records_after == 187
    assert plan.to_dict() == before


@pytest.mark.parametrize(
    ("target", "code", "field"),
    [("standard", "tier_unchanged", "tier"), ("gold", "tier_unknown", "tier")],
)
def test_invalid_target_tier(make_plan: MakePlan, target: str, code: str, field: str) -> None:
    plan = make_plan()
    with pytest.raises(Invalid) as caught:
        plan.change_tier(target, DEFAULT_PRICE_TABLE, TODAY)
    assert caught.value.code == code and set(caught.value.fields or {}) == {field}
    assert plan.last_tier_change_on is None


@pytest.mark.parametrize("status", [PlanStatus.PENDING_PAYMENT, PlanStatus.COMPLETED, PlanStatus.CANCELLED])
def test_only_active_plans_change_tier(make_plan: MakePlan, status: PlanStatus) -> None:
    plan = make_plan()
    plan.status = status
    with pytest.raises(Conflict) as caught:
        plan.change_tier("premium", DEFAULT_PRICE_TABLE, TODAY)
    assert caught.value.code == "plan_not_active"


def test_too_little_left_for_one_record_of_the_new_tier(make_plan: MakePlan) -> None:
    plan = make_plan(records=30)  # 3.00 EUR each
    plan.remaining = 2  # 6.00 EUR < 6.50 EUR for one premium_plus record
    with pytest.raises(Conflict) as caught:
        plan.change_tier("premium_plus", DEFAULT_PRICE_TABLE, TODAY)
    assert caught.value.code == "tier_change_too_few_records"
    assert plan.tier == Tier.STANDARD and plan.remaining == 2


def test_nothing_left_once_today_is_taken(make_plan: MakePlan) -> None:
    plan = make_plan(records=30)
    plan.remaining = 3
    with pytest.raises(Conflict) as caught:
        plan.change_tier("premium", DEFAULT_PRICE_TABLE, TODAY, taken_today=3)
    assert caught.value.code == "tier_change_nothing_remaining"


@pytest.mark.parametrize("taken", [-1, 301, True, 1.5])
def test_taken_today_must_be_plausible(make_plan: MakePlan, taken: Any) -> None:
    plan = make_plan(records=300)
    with pytest.raises(Invalid) as caught:
        plan.change_tier("premium", DEFAULT_PRICE_TABLE, TODAY, taken_today=taken)
    assert caught.value.code == "taken_today_invalid"
