"""Running plans: day close, tier change, extension, refund credit, against the database."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plans.domain.pricing import parse_price_table
from plans.models import day_reports, extensions
from plans.remote import DayTotals
from plans.settings import PlanConfig
from plans.testing import MONDAY, STAFF, U2, freeze_on
from plans.usecases import books, changes, ordering, queries
from suivi_common import events
from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound

D = timedelta(days=1)


def reports(world: Any, plan_id: str) -> list[tuple[str, str]]:
    with Session(world.engine) as session:
        rows = session.execute(select(day_reports).where(day_reports.c.plan_id == plan_id)
                               .order_by(day_reports.c.day)).all()
    return [(r.day.isoformat(), r.status) for r in rows]


# --- day close ----------------------------------------------------------------------------------

def test_day_close_forfeits_what_was_not_taken_but_keeps_a_shortfall_owed(world: Any) -> None:
    plan_id = world.active_plan(300)
    world.book.take(plan_id, 4)  # Monday: quota 10, 4 taken, 6 forfeited
    freeze_on(MONDAY + D)
    world.book.take(plan_id, 3, shortfall=7)  # Tuesday: stock ran out after 3
    summary = world.close_through(MONDAY + 2 * D)
    assert [s["date"] for s in summary] == ["2026-06-01", "2026-06-02"]
    plan = world.plan(plan_id).plan
    assert plan.remaining == 300 - 4 - 6 - 3
    assert plan.forfeits == {MONDAY: 6}
    assert plan.end_date == MONDAY + 29 * D + D  # one more day for the shortfall
    assert world.call(books.tick, who=None) == []  # idempotent: nothing left to close
    assert len(world.book.close_calls) == 2
    changed = world.events("plan_changed")
    assert [e["records_remaining"] for e in changed] == [290, 287]
    assert [e["version"] for e in changed] == [2, 3]


def test_catch_up_closes_missed_days_in_order_and_completes(world: Any) -> None:
    plan_id = world.active_plan(30)  # one record a day
    for offset in range(30):
        world.book.take(plan_id, 1, day=MONDAY + offset * D)
    world.close_through(MONDAY + 31 * D)  # the service was "down" for a month
    assert [day for day, _ in world.book.close_calls] == [MONDAY + i * D for i in range(30)]
    row = world.plan(plan_id)
    assert row.plan.status.value == "completed" and row.plan.remaining == 0
    assert world.events()[-1]["_type"] == "plan_completed"
    assert world.events()[-1]["quota_schedule"] == {}


def test_a_report_ahead_of_its_turn_waits_for_the_missing_day(world: Any) -> None:
    plan_id = world.active_plan(300)
    freeze_on(MONDAY + 2 * D)
    world.call(books.on_day_closed, DayTotals(plan_id, MONDAY + D, 10, 0), who=None)
    assert reports(world, plan_id) == [("2026-06-02", "pending")]
    assert world.plan(plan_id).plan.remaining == 300
    world.call(books.on_day_closed, DayTotals(plan_id, MONDAY, 10, 0), who=None)
    assert reports(world, plan_id) == [("2026-06-01", "applied"), ("2026-06-02", "applied")]
    assert world.plan(plan_id).plan.remaining == 280
    world.call(books.on_day_closed, DayTotals(plan_id, MONDAY, 10, 0), who=None)  # again
    assert world.plan(plan_id).plan.remaining == 280
    assert len(world.events("plan_changed")) == 1  # one snapshot for the two days


def test_leads_down_leaves_everything_as_it_was_and_staff_hear_of_it(world: Any) -> None:
    plan_id = world.active_plan(300)
    world.book.available = False
    assert world.close_through(MONDAY + 2 * D) == []
    with pytest.raises(Conflict) as err:
        world.call(books.close_by_hand, "2026-06-01", who=STAFF)
    assert err.value.code == "leads_unavailable"
    world.book.available = True
    result = world.call(books.close_by_hand, "2026-06-01", who=STAFF)
    assert [d["date"] for d in result["dates"]] == ["2026-06-01"]
    assert world.plan(plan_id).plan.last_closed_date == MONDAY
    with pytest.raises(Invalid) as not_over:
        world.call(books.close_by_hand, "2026-06-03", who=STAFF)
    assert not_over.value.code == "day_close_not_over"
    with pytest.raises(Forbidden):
        world.call(books.close_by_hand, "2026-06-01")


# --- tier change --------------------------------------------------------------------------------

def test_tier_change_keeps_the_value_and_skips_what_was_taken_today(world: Any) -> None:
    plan_id = world.active_plan(300, "standard")  # 300 x 250 cents
    world.book.take(plan_id, 10)
    freeze_on(MONDAY + D)
    world.book.take(plan_id, 4)
    view = world.call(changes.change_tier, plan_id, "premium")  # closes Monday first
    # owed: 290 - 4 taken today = 286 x 250 = 71500 cents -> 178 premium records at 400, 300 left
    assert view["tier"] == "premium"
    assert view["tier_change"]["records_after"] == 178 and view["tier_change"]["residue_cents"] == 300
    assert view["records_remaining"] == 178 + 4 and view["credit_cents"] == 300
    assert view["today"]["taken"] == 4
    assert world.events()[-1]["tier"] == "premium"
    with pytest.raises(Conflict) as again:
        world.call(changes.change_tier, plan_id, "standard")
    assert again.value.code == "tier_change_daily_limit"


def test_tier_change_refusals_change_nothing(world: Any) -> None:
    plan_id = world.active_plan(300, "standard")
    before = world.plan(plan_id)
    with pytest.raises(Invalid) as unknown:
        world.call(changes.change_tier, plan_id, "gold")
    assert unknown.value.code == "tier_unknown"
    with pytest.raises(Invalid) as same:
        world.call(changes.change_tier, plan_id, "standard")
    assert same.value.code == "tier_unchanged"
    with pytest.raises(NotFound):
        world.call(changes.change_tier, plan_id, "premium", who=U2)
    world.book.has_plan_today = False
    with pytest.raises(Conflict) as down:
        world.call(changes.change_tier, plan_id, "premium")
    assert down.value.code == "leads_unavailable"
    assert world.plan(plan_id) == before


# --- extension ---------------------------------------------------------------------------------

def test_extension_is_paid_then_restarts_the_plan_for_30_days(world: Any) -> None:
    plan_id = world.active_plan(300, "standard")
    world.book.take(plan_id, 10)
    freeze_on(MONDAY + 5 * D)
    order = world.call(ordering.extend_plan, plan_id, 120, "transfer")
    assert order["status"] == "pending_payment" and order["total_cents"] == 120 * 250
    assert world.accounts.last_payment()["order_type"] == "plan_extension"
    world.pay(order["payment"]["id"])
    plan = world.plan(plan_id).plan
    # Monday 10 taken, Tuesday-Friday 10 forfeited each: 300 - 50 = 250 owed, + 120
    assert plan.remaining == 370 and plan.start_date == MONDAY + 5 * D
    assert plan.end_date == MONDAY + 5 * D + 29 * D
    assert world.call(queries.get_plan, plan_id)["daily_quota"] == 13
    world.pay(order["payment"]["id"])  # replay
    assert world.plan(plan_id).plan.remaining == 370


def test_extension_paid_while_leads_is_down_waits_for_the_day_close(world: Any) -> None:
    plan_id = world.active_plan(300)
    order = world.call(ordering.extend_plan, plan_id, 30, "card")
    freeze_on(MONDAY + D)
    world.book.available = False
    world.pay(order["payment"]["id"])
    assert world.plan(plan_id).plan.remaining == 300
    with Session(world.engine) as session:
        assert session.execute(select(extensions.c.status)).scalar_one() == "paid"
    world.book.available = True
    world.call(books.tick, who=None)
    world.call(ordering.apply_waiting_extensions, who=None)
    plan = world.plan(plan_id).plan
    assert plan.remaining == 290 + 30 and plan.start_date == MONDAY + D


def test_credit_pays_for_an_extension_at_once(world: Any) -> None:
    world.config = PlanConfig(table=parse_price_table(
        {"standard": [[1, 300]], "premium": [[1, 700]], "premium_plus": [[1, 900]]}))
    plan_id = world.active_plan(300, "standard")
    world.call(changes.change_tier, plan_id, "premium")  # 90000 cents -> 128 x 700, 400 credit
    assert world.plan(plan_id).plan.credit_cents == 400
    world.take_quota(plan_id)
    freeze_on(MONDAY + D)
    world.call(changes.change_tier, plan_id, "standard")  # 123 x 700 -> 287 x 300, no residue
    quote = world.call(ordering.quote_plan_extension, plan_id, 1)
    assert quote["total_cents"] == 0 and quote["credit_applied_cents"] == 300
    order = world.call(ordering.extend_plan, plan_id, 1, "card")
    assert order["status"] == "applied" and order["payment"] is None
    plan = world.plan(plan_id).plan
    assert plan.credit_cents == 100 and plan.remaining == 288
    assert world.accounts.payments.keys() == {world.accounts.last_payment()["id"]}  # the plan's only


def test_bad_extensions_are_refused(world: Any) -> None:
    plan_id = world.active_plan(300)
    for records in (0, 3001, "ten"):
        with pytest.raises(Invalid):
            world.call(ordering.extend_plan, plan_id, records, "card")
    with pytest.raises(NotFound):
        world.call(ordering.extend_plan, plan_id, 10, "card", who=U2)
    pending = world.buy()
    with pytest.raises(Conflict) as err:
        world.call(ordering.extend_plan, pending["id"], 10, "card")
    assert err.value.code == "plan_not_extendable"


def test_asking_again_replaces_the_unpaid_extension(world: Any) -> None:
    plan_id = world.active_plan(300)
    first = world.call(ordering.extend_plan, plan_id, 30, "card")
    second = world.call(ordering.extend_plan, plan_id, 60, "card")
    assert first["id"] == second["id"] and second["records"] == 60
    assert world.accounts.payments[first["payment"]["id"]]["status"] == "cancelled"


# --- refund credit --------------------------------------------------------------------------------

def test_refund_credit_is_added_once_per_claim(world: Any) -> None:
    plan_id = world.active_plan(300)
    claim = events.example("refund_approved", plan_id=plan_id, user_id="u1")
    world.call(changes.on_refund_approved, claim, who=None)
    world.call(changes.on_refund_approved, claim, who=None)
    assert world.plan(plan_id).plan.remaining == 301
    world.call(changes.on_refund_approved, {**claim, "claim_id": "c2", "plan_id": "nope"}, who=None)
    assert world.plan(plan_id).plan.remaining == 301
