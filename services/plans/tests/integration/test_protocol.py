"""Plans with fake accounts and leads over a real broker: the whole life of a plan, and
the plans <-> leads protocol (redeliveries, duplicate and late day closes)."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from plans.domain.quota import daily_quota
from plans.models import day_reports, refund_credits
from plans.testing import MONDAY, STAFF, U1, U2, freeze_on, wait_for
from suivi_common import clock, events
from suivi_common.errors import Conflict, Invalid, NotFound

D = timedelta(days=1)


def iso(day: date) -> str:
    return day.isoformat()


def activate(world: Any, records: int = 300, tier: str = "standard", country: str = "FR",
             who: Any = U1) -> str:
    bought = world.call(who, "create_plan", records, tier, country, "card")
    world.pay(bought["payment"]["id"])
    world.wait_snapshot(bought["id"], 1)
    return bought["id"]


def take_quota(world: Any, plan_id: str) -> int:
    """Leads serves today's whole quota, as the latest snapshot says."""
    latest = max(world.snapshots(plan_id), key=lambda s: s["version"])
    due = latest["quota_schedule"].get(iso(clock.today()), 0)
    world.fake.book.take(plan_id, due)
    return due


def close_yesterday(world: Any, plan_id: str) -> None:
    version = world.plan(plan_id).version
    world.call(STAFF, "close_day", iso(clock.today() - D))
    wait_for(lambda: world.plan(plan_id).version > version)


def check_schedule(snapshot: dict[str, Any]) -> None:
    """Each scheduled quota is ceil(balance / delivery days left), the balance falling by it."""
    balance = snapshot["records_remaining"]
    days = sorted(snapshot["quota_schedule"])
    for index, day in enumerate(days):
        due = snapshot["quota_schedule"][day]
        assert due == daily_quota(balance, len(days) - index)
        balance -= due
    assert balance == 0 and days[-1] == snapshot["end_date"]


def test_the_life_of_a_plan(world: Any) -> None:
    quote = world.call(U1, "quote", 300, "standard", "FR")
    assert (quote["total_cents"], quote["daily_quota"], quote["days"]) == (75000, 10, 30)

    bought = world.call(U1, "create_plan", 300, "standard", "FR", "card")
    plan_id = bought["id"]
    assert bought["status"] == "pending_payment" and bought["payment"]["redirect_url"]
    assert world.fake.accounts.last_payment()["user_id"] == "u1"  # the principal travelled
    world.pay(bought["payment"]["id"])
    activated = world.wait_snapshot(plan_id, 1)
    assert activated["start_date"] == "2026-06-01" and activated["end_date"] == "2026-06-30"
    check_schedule(activated)

    take_quota(world, plan_id)  # Monday: 10
    freeze_on(MONDAY + D)
    world.fake.book.take(plan_id, 4)  # Tuesday morning: 4 standard leads
    changed = world.call(U1, "change_tier", plan_id, "premium")  # closes Monday first
    # 290 owed, 4 taken today: 286 x 250 cents -> 178 premium records at 400, 300 cents credit
    assert changed["tier"] == "premium" and changed["credit_cents"] == 300
    assert changed["records_remaining"] == 182 and changed["today"]["taken"] == 4
    tier_snapshot = world.wait_snapshot(plan_id, 3)
    assert tier_snapshot["tier"] == "premium"
    assert tier_snapshot["quota_schedule"][iso(MONDAY + D)] == daily_quota(182, 29)
    world.fake.book.take(plan_id, daily_quota(182, 29) - 4)

    freeze_on(MONDAY + 2 * D)  # Wednesday
    close_yesterday(world, plan_id)
    take_quota(world, plan_id)
    absence = world.call(U1, "request_absence", "2026-06-08", "2026-06-09")
    assert absence["plan_ids"] == [plan_id]
    closure = world.call(STAFF, "declare_sales_closure", "2026-06-11", "2026-06-11", ["FR"], None,
                         "Stock")
    assert closure["plans_affected"] == 1
    view = world.call(U1, "get_plan", plan_id)
    assert view["end_date"] == "2026-07-03"  # 30 June + 2 absent days + 1 closed day
    latest = world.wait_snapshot(plan_id, view_version(world, plan_id))
    check_schedule(latest)
    assert not {"2026-06-08", "2026-06-09", "2026-06-11"} & set(latest["quota_schedule"])
    assert view["today"] == {"date": "2026-06-03", "quota": latest["quota_schedule"]["2026-06-03"],
                             "taken": latest["quota_schedule"]["2026-06-03"], "shortfall": 0,
                             "live": True}

    # every following day: the user takes the quota, the books close after midnight
    today = MONDAY + 3 * D
    while world.plan(plan_id).plan.status.value == "active":
        freeze_on(today)
        close_yesterday(world, plan_id)
        if world.plan(plan_id).plan.status.value != "active":
            break
        take_quota(world, plan_id)
        today += D
    assert today == date(2026, 7, 4)  # the last quota was taken on 3 July
    final = world.plan(plan_id)
    assert final.plan.status.value == "completed" and final.plan.remaining == 0
    assert world.wait_snapshot(plan_id, final.version)["status"] == "completed"
    assert world.call(U1, "get_plan", plan_id)["status"] == "completed"


def view_version(world: Any, plan_id: str) -> int:
    return world.plan(plan_id).version


def test_a_redelivered_payment_activates_once(world: Any) -> None:
    bought = world.call(U1, "create_plan", 300, "standard", "FR", "transfer")
    assert bought["payment"]["redirect_url"] is None
    event = world.fake.accounts.validated_event(bought["payment"]["id"])
    for _ in range(3):  # the relay republished after a crash: same message id
        world.publish("accounts", "payment_validated", event, "pay-1")
    world.publish("accounts", "payment_validated", event, "pay-1-again")  # a new id, same payment
    world.wait_snapshot(bought["id"], 1)
    world.settle()  # all four deliveries handled, and whatever they emitted received
    assert [s["version"] for s in world.snapshots(bought["id"])] == [1]
    assert world.plan(bought["id"]).plan.status.value == "active"


def test_day_closes_twice_late_and_out_of_order_apply_once_in_order(world: Any) -> None:
    plan_id = activate(world, 300)
    freeze_on(MONDAY + 3 * D)
    tuesday = events.example("plan_day_closed", plan_id=plan_id, date=iso(MONDAY + D), taken=10,
                             shortfall=0)
    monday = events.example("plan_day_closed", plan_id=plan_id, date=iso(MONDAY), taken=7,
                            shortfall=3)
    world.publish("leads", "plan_day_closed", tuesday, "close-tue")  # a late Monday: Tuesday first
    wait_for(lambda: world.count(day_reports) == 1)
    world.settle()
    assert world.plan(plan_id).plan.remaining == 300  # waits for Monday
    world.publish("leads", "plan_day_closed", monday, "close-mon")
    world.publish("leads", "plan_day_closed", monday, "close-mon")  # redelivered
    world.publish("leads", "plan_day_closed", monday, "close-mon-2")  # closed twice by leads
    wait_for(lambda: world.plan(plan_id).plan.last_closed_date == MONDAY + D)
    world.settle()  # the redelivery and the second close handled too
    plan = world.plan(plan_id).plan
    # Monday: 7 taken, 3 short (still owed, one more day); Tuesday: 10 taken
    assert plan.remaining == 300 - 7 - 10 and plan.forfeits == {}
    assert plan.end_date == date(2026, 7, 1)
    assert world.count(day_reports, day_reports.c.status == "applied") == 2

    # the staff close of the missed Wednesday asks leads and applies its answer
    world.fake.book.take(plan_id, 2, day=MONDAY + 2 * D)
    result = world.call(STAFF, "close_day", iso(MONDAY + 2 * D))
    assert [d["date"] for d in result["dates"]] == [iso(MONDAY + 2 * D)]
    assert world.plan(plan_id).plan.forfeits == {MONDAY + 2 * D: daily_quota(283, 29) - 2}
    again = world.call(STAFF, "close_day", iso(MONDAY + 2 * D))
    assert again["dates"] == [] and again["plans_still_open"] == 0


def test_refund_credit_once_per_claim_even_redelivered(world: Any) -> None:
    plan_id = activate(world, 300)
    claim = events.example("refund_approved", plan_id=plan_id, user_id="u1")
    world.publish("leads", "refund_approved", claim, "refund-1")
    world.publish("leads", "refund_approved", claim, "refund-1")
    world.publish("leads", "refund_approved", claim, "refund-1-bis")
    wait_for(lambda: world.count(refund_credits, refund_credits.c.status == "credited") == 1)
    world.settle()  # the redelivery and the second claim id handled too
    assert world.plan(plan_id).plan.remaining == 301
    assert world.wait_snapshot(plan_id, 2)["records_remaining"] == 301
    assert max(s["version"] for s in world.snapshots(plan_id)) == 2


def test_leads_down_is_a_clear_refusal_and_today_is_not_live(world: Any) -> None:
    plan_id = activate(world, 300)
    world.fake.book.available = False
    freeze_on(MONDAY + D)
    with pytest.raises(Conflict) as err:
        world.call(STAFF, "close_day", iso(MONDAY))
    assert err.value.code == "leads_unavailable"
    view = world.call(U1, "get_plan", plan_id)
    assert view["today"]["live"] is False and view["today"]["taken"] == 0
    with pytest.raises(Conflict):
        world.call(U1, "change_tier", plan_id, "premium")
    assert world.plan(plan_id).plan.last_closed_date is None


def test_bad_input_crosses_rpc_as_typed_errors_and_changes_nothing(world: Any) -> None:
    plan_id = activate(world, 300)
    cases = [
        ("quote", (300, "gold", "FR"), Invalid, "tier_unknown"),
        ("create_plan", (300, "standard", "DE", "card"), Invalid, "country_not_open"),
        ("create_plan", (0, "standard", "FR", "card"), Invalid, "records_out_of_bounds"),
        ("create_plan", (3001, "standard", "FR", "card"), Invalid, "records_out_of_bounds"),
        ("request_absence", ("2026-06-10", "2026-06-05"), Invalid, "absence_dates_order"),
        ("get_plan", (plan_id,), NotFound, "not_found"),
        ("change_tier", (plan_id, "premium"), NotFound, "not_found"),
        ("extend_plan", (plan_id, 10, "card"), NotFound, "not_found"),
        ("cancel_plan", (plan_id,), NotFound, "not_found"),
    ]
    for method, args, error, code in cases:
        with pytest.raises(error) as err:
            world.call(U2, method, *args)
        assert err.value.code == code, method
    assert world.plan(plan_id).version == 1
    assert world.call(U2, "list_plans")["items"] == []
