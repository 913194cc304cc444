from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from plans.domain.day_close import DayReport, close_day
from plans.domain.plan import Plan, PlanStatus
from plans.domain.pricing import DEFAULT_PRICE_TABLE, quote_extension
from suivi_common.errors import Conflict

MakePlan = Callable[..., Plan]
TODAY = date(2026, 6, 11)


def test_extension_resets_start_and_recomputes_quota(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    plan.remaining = 200
    plan.last_closed_date = TODAY - timedelta(days=1)
    assert plan.quota_for(TODAY) == 10  # ceil(200 / 20)
    quote = quote_extension(100, plan.tier, DEFAULT_PRICE_TABLE, plan.credit_cents)
    plan.apply_extension(quote, TODAY)
    assert plan.start_date == TODAY
    assert plan.end_date == TODAY + timedelta(days=29)
    assert plan.delivery_days_total == 30
    assert plan.remaining == 300 and plan.records_ordered == 400
    assert plan.quota_for(TODAY) == 10  # ceil(300 / 30)
    assert plan.activated_on == date(2026, 6, 1)


def test_extension_consumes_credit(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    plan.credit_cents = 1_200
    quote = quote_extension(100, plan.tier, DEFAULT_PRICE_TABLE, plan.credit_cents)
    assert (quote.gross_cents, quote.credit_applied_cents, quote.total_cents) == (25_000, 1_200, 23_800)
    plan.apply_extension(quote, TODAY)
    assert plan.credit_cents == 0


def test_credit_larger_than_the_price_is_only_partly_used(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    plan.remaining = 5  # 5 x 250 + 5 x 300 = 10 x 275: no rounding leftover
    plan.credit_cents = 2_000
    quote = quote_extension(5, plan.tier, DEFAULT_PRICE_TABLE, plan.credit_cents)
    assert quote.total_cents == 0
    plan.apply_extension(quote, TODAY)
    assert plan.credit_cents == 500


def test_unit_price_becomes_the_value_weighted_mean(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)  # 2.50 EUR each
    plan.remaining = 100
    quote = quote_extension(50, plan.tier, DEFAULT_PRICE_TABLE, 0)  # 3.00 EUR each
    plan.apply_extension(quote, TODAY)
    # (100 x 250 + 50 x 300) = 40 000 c over 150 records = 266 c each + 100 c leftover
    assert plan.unit_price_cents == 266
    assert plan.credit_cents == 100
    assert plan.remaining * plan.unit_price_cents + plan.credit_cents == 40_000


def test_leads_taken_today_keep_their_old_price(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    plan.remaining = 110
    quote = quote_extension(50, plan.tier, DEFAULT_PRICE_TABLE, 0)
    plan.apply_extension(quote, TODAY, taken_today=10)
    assert plan.unit_price_cents == 266  # same mix as above: 100 owed + 50 bought
    assert plan.remaining == 160


def test_blocked_days_before_the_new_start_no_longer_matter(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    plan.block_dates([date(2026, 6, 3), date(2026, 6, 4), date(2026, 6, 20)])
    plan.apply_extension(quote_extension(10, plan.tier, DEFAULT_PRICE_TABLE, 0), TODAY)
    assert plan.blocked_dates == {date(2026, 6, 20)}
    assert plan.end_date == TODAY + timedelta(days=30)  # the future absence still counts


@pytest.mark.parametrize("status", [PlanStatus.PENDING_PAYMENT, PlanStatus.CANCELLED])
def test_unstarted_or_cancelled_plans_cannot_be_extended(make_plan: MakePlan, status: PlanStatus) -> None:
    plan = make_plan()
    plan.status = status
    with pytest.raises(Conflict) as caught:
        plan.apply_extension(quote_extension(10, plan.tier, DEFAULT_PRICE_TABLE, 0), TODAY)
    assert caught.value.code == "plan_not_extendable"


def test_quote_for_another_tier_is_stale(make_plan: MakePlan) -> None:
    plan = make_plan()
    quote = quote_extension(10, "premium", DEFAULT_PRICE_TABLE, 0)
    with pytest.raises(Conflict) as caught:
        plan.apply_extension(quote, TODAY)
    assert caught.value.code == "extension_quote_stale"
    assert plan.remaining == 300


def test_quote_using_credit_already_spent_is_stale(make_plan: MakePlan) -> None:
    plan = make_plan()
    quote = quote_extension(10, plan.tier, DEFAULT_PRICE_TABLE, 500)
    with pytest.raises(Conflict) as caught:
        plan.apply_extension(quote, TODAY)
    assert caught.value.code == "extension_quote_stale"


def test_completed_plan_can_be_extended(make_plan: MakePlan) -> None:
    plan = make_plan(records=30)
    plan.remaining = 0
    plan.status = PlanStatus.COMPLETED
    plan.last_closed_date = date(2026, 6, 30)
    today = date(2026, 7, 20)
    plan.apply_extension(quote_extension(60, plan.tier, DEFAULT_PRICE_TABLE, 0), today)
    assert plan.status == PlanStatus.ACTIVE
    assert plan.next_day_to_close == today  # the idle days need no close
    assert plan.quota_for(today) == 2
    result = close_day(plan, DayReport(today, taken=2), today=today + timedelta(days=1))
    assert result.forfeited == 0 and plan.remaining == 58
