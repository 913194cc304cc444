"""Quotes, orders, payment, activation and withdrawal, against the database."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plans.domain.pricing import parse_price_table
from plans.models import plans
from plans.testing import LEADS, MONDAY, STAFF, U2, freeze_on
from plans.usecases import absences, closures, ordering, queries
from suivi_common import clock
from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from suivi_common.identity import Principal

D = timedelta(days=1)


def plan_count(world: Any) -> int:
    with Session(world.engine) as session:
        return session.execute(select(func.count()).select_from(plans)).scalar_one()


def test_quote_shows_price_and_quota_before_buying(world: Any) -> None:
    q = world.call(ordering.quote_plan, 300, "premium", "fr")
    assert q == {"unit_price_cents": 400, "total_cents": 120000, "daily_quota": 10, "days": 30,
                 "tier": "premium", "kind": "construction", "country": "FR", "records": 300}


def test_quote_and_price_are_per_kind(world: Any) -> None:
    """Issue 13 §1: each kind has its price table (``PLAN_PRICE_TABLE_DISTRIBUTION``);
    without one, distribution plans cost what construction ones do."""
    same = world.call(ordering.quote_plan, 300, "premium", "FR", "distribution")
    assert same["kind"] == "distribution" and same["unit_price_cents"] == 400
    world.config = replace(world.config, distribution_table=parse_price_table(
        {"standard": [[1, 100]], "premium": [[1, 150]], "premium_plus": [[1, 200]]}))
    q = world.call(ordering.quote_plan, 300, "premium", "FR", "distribution")
    assert (q["unit_price_cents"], q["total_cents"]) == (150, 45000)
    assert world.call(ordering.quote_plan, 300, "premium", "FR")["unit_price_cents"] == 400
    with pytest.raises(Invalid) as err:
        world.call(ordering.quote_plan, 300, "premium", "FR", "shop")
    assert err.value.code == "kind_unknown" and "kind" in (err.value.fields or {})


def test_a_kind_the_subscription_does_not_cover_is_refused(world: Any) -> None:
    with pytest.raises(Forbidden) as err:
        world.call(ordering.buy_plan, 300, "standard", "FR", "card", "distribution")
    assert err.value.code == "kind_not_covered"
    assert plan_count(world) == 0 and world.accounts.payments == {}
    world.accounts.coverage["u1"] = "distribution"
    with pytest.raises(Forbidden) as err:
        world.buy()  # construction, the default
    assert err.value.code == "kind_not_covered"
    bought = world.call(ordering.buy_plan, 300, "standard", "FR", "card", "distribution")
    assert bought["kind"] == "distribution"
    world.accounts.coverage["u1"] = "both"
    assert world.buy()["kind"] == "construction"


def test_a_distribution_plans_snapshots_carry_its_kind(world: Any) -> None:
    world.accounts.coverage["u1"] = "both"
    world.config = replace(world.config, distribution_table=parse_price_table(
        {"standard": [[1, 100]], "premium": [[1, 150]], "premium_plus": [[1, 200]]}))
    bought = world.call(ordering.buy_plan, 300, "standard", "FR", "card", "distribution")
    assert world.accounts.last_payment()["amount_cents"] == 30000  # the kind's price
    world.pay(bought["payment"]["id"])
    [activated] = world.events("plan_activated")
    assert activated["kind"] == "distribution"
    assert world.plan(bought["id"]).plan.kind == "distribution"
    with Session(world.engine) as session:
        assert session.execute(select(plans.c.kind)).scalar_one() == "distribution"
    assert world.call(queries.get_plan, bought["id"])["kind"] == "distribution"


@pytest.mark.parametrize(("args", "error", "code", "field"), [
    ((300, "gold", "FR"), Invalid, "tier_unknown", "tier"),
    ((0, "standard", "FR"), Invalid, "records_out_of_bounds", "records"),
    ((3001, "standard", "FR"), Invalid, "records_out_of_bounds", "records"),
    ((29, "standard", "FR"), Invalid, "records_out_of_bounds", "records"),
    (("300", "standard", "FR"), Invalid, "records_out_of_bounds", "records"),
    ((300, "standard", "DE"), Invalid, "country_not_open", "country"),
    ((300, "standard", "France"), Invalid, "country_invalid", "country"),
])
def test_bad_orders_are_refused_and_store_nothing(world: Any, args: tuple[Any, ...], error: type,
                                                  code: str, field: str) -> None:
    for use_case, extra in ((ordering.quote_plan, ()), (ordering.buy_plan, ("card",))):
        with pytest.raises(error) as err:
            world.call(use_case, *args, *extra)
        assert err.value.code == code
        assert field in (err.value.fields or {})
    assert plan_count(world) == 0
    assert world.accounts.payments == {}


def test_buying_needs_an_active_office_and_a_member(world: Any) -> None:
    world.accounts.offices["u1"] = False
    with pytest.raises(Forbidden) as err:
        world.buy()
    assert err.value.code == "office_inactive"
    with pytest.raises(Forbidden):
        world.buy(who=STAFF)
    with pytest.raises(Invalid) as bad_method:
        world.accounts.offices["u1"] = True
        world.buy(method="mandate")
    assert bad_method.value.fields == {"payment_method": "card, transfer or cheque"}
    assert plan_count(world) == 0


def test_a_plan_waits_for_its_payment_then_starts_that_day(world: Any) -> None:
    bought = world.buy(300, "standard", "FR", "card")
    payment = world.accounts.last_payment()
    assert (payment["order_type"], payment["order_id"], payment["amount_cents"]) == \
        ("plan", bought["id"], 75000)
    assert bought["status"] == "pending_payment" and bought["payment"]["redirect_url"]
    assert bought["daily_quota"] == 10 and bought["start_date"] is None
    assert world.events() == []  # nothing reaches leads before the payment

    freeze_on(MONDAY + 2 * D, hour=23)
    world.pay(payment["id"])
    view = world.call(queries.get_plan, bought["id"])
    assert view["status"] == "active"
    assert view["start_date"] == "2026-06-03" and view["end_date"] == "2026-07-02"
    assert view["today"] == {"date": "2026-06-03", "quota": 10, "taken": 0, "shortfall": 0,
                             "live": True}
    [event] = world.events()
    assert event["_type"] == "plan_activated"
    assert event["version"] == 1 and event["network_id"] == "net-1"
    assert event["records_remaining"] == 300 and event["auto_delivery"] is False
    assert len(event["quota_schedule"]) == 30 and sum(event["quota_schedule"].values()) == 300

    world.pay(payment["id"])  # the same payment again (a replay): nothing changes
    assert len(world.events()) == 1


def test_activation_applies_absences_and_closures_accepted_before(world: Any) -> None:
    first = world.active_plan(300)  # an active plan lets u1 plan an absence
    world.call(absences.request_absence, "2026-06-10", "2026-06-11")
    world.call(closures.declare, "2026-06-15", "2026-06-15", ["FR"], [], "stock", who=STAFF)
    assert world.plan(first).plan.end_date == MONDAY + 32 * D

    freeze_on(MONDAY + 2 * D)
    second = world.active_plan(300)
    plan = world.plan(second).plan
    assert {MONDAY + 9 * D, MONDAY + 10 * D, MONDAY + 14 * D} <= plan.blocked_dates
    assert plan.end_date == MONDAY + 2 * D + 32 * D


def test_payment_for_a_withdrawn_order_is_reported_for_refund(world: Any) -> None:
    bought = world.buy()
    world.call(ordering.cancel_plan, bought["id"])
    world.pay(bought["payment"]["id"])
    assert world.plan(bought["id"]).plan.status.value == "cancelled"
    types = [e["_type"] for e in world.events()]
    assert types == ["plan_cancelled", "plan_refund_due"]
    refund = world.events("plan_refund_due")[0]
    assert refund["amount_cents"] == 75000 and refund["order_type"] == "plan"


def test_withdrawal_of_a_paid_plan_within_seven_days_with_nothing_delivered(world: Any) -> None:
    plan_id = world.active_plan()
    world.close_through(MONDAY + 3 * D)  # three days closed, nothing taken (all forfeited)
    freeze_on(MONDAY + 3 * D)
    view = world.call(ordering.cancel_plan, plan_id)
    assert view["status"] == "cancelled"
    assert [e["_type"] for e in world.events()][-2:] == ["plan_cancelled", "plan_refund_due"]


def test_no_withdrawal_once_leads_were_delivered_or_after_seven_days(world: Any) -> None:
    taken_today = world.active_plan()
    world.book.take(taken_today, 1)
    with pytest.raises(Conflict) as err:
        world.call(ordering.cancel_plan, taken_today)
    assert err.value.code == "plan_already_delivered"

    taken_before = world.active_plan()
    world.book.take(taken_before, 2)
    freeze_on(MONDAY + D)
    with pytest.raises(Conflict) as err:
        world.call(ordering.cancel_plan, taken_before)  # the catch-up closes Monday first
    assert err.value.code == "plan_already_delivered"

    freeze_on(MONDAY)
    late = world.active_plan()
    world.close_through(MONDAY + 8 * D)
    with pytest.raises(Conflict) as err:
        world.call(ordering.cancel_plan, late)
    assert err.value.code == "withdrawal_period_over"

    with pytest.raises(NotFound):
        world.call(ordering.cancel_plan, late, who=U2)
    assert world.plan(late).plan.status.value == "active"


def test_withdrawal_needs_leads_to_confirm_nothing_was_taken_today(world: Any) -> None:
    plan_id = world.active_plan()
    world.book.has_plan_today = False
    with pytest.raises(Conflict) as err:
        world.call(ordering.cancel_plan, plan_id)
    assert err.value.code == "leads_unavailable"
    assert world.plan(plan_id).plan.status.value == "active"


def test_list_and_read_only_my_plans(world: Any) -> None:
    mine = []
    for i in range(3):
        mine.append(world.buy(30 + i)["id"])
        clock.advance(timedelta(seconds=1))
    other = world.buy(50, who=U2)["id"]
    first = world.call(queries.list_plans, None, 2)
    second = world.call(queries.list_plans, first["next_cursor"], 2)
    assert [p["id"] for p in first["items"] + second["items"]] == mine[::-1]
    assert second["next_cursor"] is None
    with pytest.raises(NotFound):
        world.call(queries.get_plan, other)
    with pytest.raises(NotFound):
        world.call(queries.get_plan, "not-a-uuid")
    with pytest.raises(Invalid):
        world.call(queries.list_plans, "garbage!", 2)
    assert world.call(queries.get_plan, other, who=STAFF)["id"] == other


def test_entitlements_are_for_services_only(world: Any) -> None:
    active = world.active_plan()
    world.buy()  # pending: not an entitlement
    snapshots = world.call(queries.active_entitlements, who=LEADS)
    assert [s["plan_id"] for s in snapshots] == [active]
    with pytest.raises(Forbidden):
        world.call(queries.active_entitlements)
    with pytest.raises(Unauthorized):  # no principal is never "internal"
        world.call(queries.active_entitlements, who=None)
    assert world.call(queries.get_plan_for_owner, active)["plan_id"] == active
    assert world.call(queries.get_plan_for_owner, active, who=LEADS)["plan_id"] == active
    with pytest.raises(NotFound):
        world.call(queries.get_plan_for_owner, active, who=U2)
    with pytest.raises(Unauthorized):
        world.call(queries.get_plan_for_owner, active, who=None)


def test_accounts_learns_which_users_still_have_a_plan_running(world: Any) -> None:
    """For the end-of-subscription reminder's warning (terms art. 10): active plans only,
    for accounts only."""
    world.active_plan()
    world.buy(who=U2)  # pending: not running
    accounts = Principal("accounts", "service")
    assert world.call(queries.running_plan_owners, ["u1", "u2", "u3"], who=accounts) == ["u1"]
    with pytest.raises(Forbidden):
        world.call(queries.running_plan_owners, ["u1"], who=LEADS)
    with pytest.raises(Invalid):
        world.call(queries.running_plan_owners, "u1", who=accounts)


def test_forecast_sums_expected_demand_per_day_country_and_tier(world: Any) -> None:
    world.active_plan(300, "standard", "FR")
    world.active_plan(60, "premium", "BE", who=U2)
    result = world.call(queries.forecast, 3, who=STAFF)
    assert result["items"][:2] == [
        {"date": "2026-06-01", "country": "BE", "tier": "premium", "kind": "construction",
         "records": 2},
        {"date": "2026-06-01", "country": "FR", "tier": "standard", "kind": "construction",
         "records": 10}]
    assert result["per_day"] == [{"date": f"2026-06-0{d}", "records": 12} for d in (1, 2, 3)]
    with pytest.raises(Forbidden):
        world.call(queries.forecast, 3)
    with pytest.raises(Invalid):
        world.call(queries.forecast, 0, who=STAFF)
    assert date.fromisoformat(result["from_date"]) == MONDAY
