"""Takes, auto-delivery and fairness through the running service."""
from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from leads import testing
from leads.models import (
    common,
    deliveries,
    entitlements,
    leads,
    member_permissions,
    office_history,
    office_leads,
    plan_days,
    stock,
    stock_alerts,
)
from leads.usecases.context import Ctx
from suivi_common import clock, paging
from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound


def stocked(stack: Any, n: int, tier: str = "premium_plus", start: int = 0,
            kind: str | None = None) -> list[str]:
    key = stack.new_site_key(kind)
    results = stack.capture(key, [testing.raw_lead(start + i, tier=tier) for i in range(n)])
    assert {r["status"] for r in results} == {"accepted"}
    return [r["id"] for r in results]


def test_take_hands_out_the_rest_of_todays_quota_oldest_first(stack: Any) -> None:
    today = clock.today()
    stack.plan("p1", "u1", {today: 5}, network_id="net-7")
    ids = stocked(stack, 3) + stocked(stack, 4, start=100)
    with stack.member("u1", "net-7") as rpc:
        first = rpc.take("p1", limit=2)
        second = rpc.take("p1")
        third = rpc.take("p1")
    # oldest first: the first capture batch goes out before the second one
    assert {lead["id"] for lead in first["leads"]} < set(ids[:3])
    assert set(ids[:3]) < {lead["id"] for lead in first["leads"] + second["leads"]}
    assert first["taken_today"] == 2 and first["quota_today"] == 5
    assert len(second["leads"]) == 3 and second["taken_today"] == 5
    assert third["leads"] == [] and third["taken_today"] == 5 and third["shortfall_today"] == 0
    lead = next(x for x in first["leads"] + second["leads"] if x["id"] == ids[0])
    assert lead["email"] == "lead0@example.fr" and lead["mobile"] == "+33600000000"
    assert lead["tier"] == "premium_plus" and lead["plan_id"] == "p1"
    # sold leads are re-keyed under the buyer's network, blind indexes included
    sold = [uuid.UUID(x["id"]) for x in first["leads"] + second["leads"]]
    assert {r.key_scope for r in stack.rows(select(leads).where(leads.c.id.in_(sold)))} == {"net-7"}
    assert {r.key_scope for r in stack.rows(select(leads).where(leads.c.id.notin_(sold)))} == {
        "platform"}
    assert stack.count(stock) == 2
    testing.wait_for(lambda: stack.count(common.outbox) == 0)


def test_a_taken_lead_is_in_the_office_when_the_take_answers(stack: Any) -> None:
    """Read your own writes: the leads a take returns can be worked on at once, and the
    ``lead_delivered`` events, still sent, find them filed (the handler changes nothing)."""
    today = clock.today()
    stack.plan("p1", "u1", {today: 3}, network_id="net-7")
    stocked(stack, 3)
    with stack.member("u1", "net-7") as rpc:
        taken = rpc.take("p1")["leads"]
        moved = [rpc.office_change_status(x["id"], "contacted") for x in taken]
    assert len(taken) == 3
    assert [(m["id"], m["status"], m["origin"]) for m in moved] == [
        (x["id"], "contacted", "purchased") for x in taken]
    assert [m["email"] for m in moved] == [x["email"] for x in taken]
    handled = common.inbox.c.handler == "leads.office_on_lead_delivered"
    testing.wait_for(lambda: stack.count(common.inbox, handled) == 3)
    rows = stack.rows(select(office_leads.c.status, office_leads.c.owner_id,
                             office_leads.c.network_id, office_leads.c.plan_country))
    assert sorted(rows) == [("contacted", "u1", "net-7", "FR")] * 3
    assert stack.count(office_history) == 3  # the three status moves, nothing more


def test_plan_today_reports_live_totals_to_services_and_the_owner(stack: Any) -> None:
    today = clock.today()
    stack.plan("p1", "u1", {today: 10})
    stocked(stack, 4)
    with stack.member("u1") as rpc:
        rpc.take("p1")
        assert rpc.plan_today("p1") == {"plan_id": "p1", "date": today.isoformat(),
                                         "taken": 4, "shortfall": 6}
    with stack.rpc(service="plans") as rpc:
        assert rpc.plan_today("p1")["taken"] == 4
        assert rpc.plan_today("unknown")["taken"] == 0
    with stack.member("u2") as rpc:
        with pytest.raises(NotFound):
            rpc.plan_today("p1")


def test_take_records_shortfall_when_stock_falls_short(stack: Any) -> None:
    today = clock.today()
    stack.plan("p1", "u1", {today: 10})
    stocked(stack, 3)
    with stack.member("u1") as rpc:
        result = rpc.take("p1")
    assert len(result["leads"]) == 3
    assert result["shortfall_today"] == 7 and result["taken_today"] == 3
    stocked(stack, 2, start=50)
    with stack.member("u1") as rpc:
        result = rpc.take("p1")
    assert result["taken_today"] == 5 and result["shortfall_today"] == 5


def test_take_matches_country_and_tier(stack: Any) -> None:
    today = clock.today()
    stack.plan("p1", "u1", {today: 10}, tier="premium")
    stocked(stack, 3, tier="premium_plus")
    stocked(stack, 2, tier="premium", start=10)
    with stack.member("u1") as rpc:
        result = rpc.take("p1")
    assert {lead["tier"] for lead in result["leads"]} == {"premium"}
    assert len(result["leads"]) == 2


def test_take_matches_the_plans_kind_and_files_the_lead_in_the_office_with_it(
        stack: Any) -> None:
    """Issue 13 §1: a distribution plan takes distribution stock only; a snapshot without a
    kind (sent before kinds) is a construction plan."""
    today = clock.today()
    stack.plan("pd", "u1", {today: 10}, kind="distribution")
    stack.plan("pc", "u2", {today: 10})
    construction = stocked(stack, 3)
    distribution = stocked(stack, 2, start=10, kind="distribution")
    assert stack.rows(select(stock.c.kind).distinct().order_by(stock.c.kind)) == [
        ("construction",), ("distribution",)]
    with stack.member("u1") as rpc:
        result = rpc.take("pd")
    assert sorted(lead["id"] for lead in result["leads"]) == sorted(distribution)
    assert {lead["kind"] for lead in result["leads"]} == {"distribution"}
    assert result["shortfall_today"] == 8  # construction stock never serves it
    with stack.member("u2") as rpc:
        assert sorted(lead["id"] for lead in rpc.take("pc")["leads"]) == sorted(construction)
    kinds = dict(stack.rows(select(office_leads.c.owner_id, office_leads.c.kind).distinct()))
    assert kinds == {"u1": "distribution", "u2": "construction"}
    with stack.member("u1") as rpc:
        listed = rpc.office_list_leads({"kind": "distribution"})
        assert {i["kind"] for i in listed["items"]} == {"distribution"}
        assert len(listed["items"]) == 2
        assert rpc.office_list_leads({"kind": "construction"})["items"] == []


def test_auto_delivery_serves_each_kind_from_its_own_stock_with_fair_shares(
        stack: Any) -> None:
    today = clock.today()
    for pid, quota in (("a", 10), ("b", 20), ("c", 30)):
        stack.plan(pid, f"user-{pid}", {today: quota}, auto=True, kind="distribution")
    stack.plan("k", "user-k", {today: 10}, auto=True)
    stocked(stack, 30, kind="distribution")  # the capture triggers a run for its group
    testing.wait_for(lambda: stack.count(stock) == 0)
    with stack.rpc() as rpc:
        assert rpc.run_auto_delivery()["delivered"] == 0
    taken = select(plan_days.c.plan_id, plan_days.c.taken).where(plan_days.c.taken > 0)
    assert dict(stack.rows(taken)) == {"a": 5, "b": 10, "c": 15}  # the construction plan: none
    stocked(stack, 4, start=100)
    testing.wait_for(lambda: stack.count(stock) == 0)
    assert dict(stack.rows(taken)) == {"a": 5, "b": 10, "c": 15, "k": 4}


def test_another_users_plan_is_not_found_and_a_closed_office_is_refused(stack: Any) -> None:
    today = clock.today()
    stack.plan("p1", "u1", {today: 5})
    stack.plan("p2", "u2", {today: 5}, office=False)
    stocked(stack, 5)
    with stack.member("intruder") as rpc:
        with pytest.raises(NotFound):
            rpc.take("p1")
        with pytest.raises(NotFound):
            rpc.take("no-such-plan")
        with pytest.raises(NotFound):
            rpc.set_auto_delivery("p1", True)
    with stack.member("u2") as rpc:  # unknown office -> accounts says closed
        with pytest.raises(Forbidden) as err:
            rpc.take("p2")
    assert err.value.code == "office_inactive"
    stack.office("u1", False)  # the subscription_ended event closes u1's office
    with stack.member("u1") as rpc:
        with pytest.raises(Forbidden):
            rpc.take("p1")
    stack.office("u1", True)
    with stack.member("u1") as rpc:
        assert len(rpc.take("p1")["leads"]) == 5


def held(engine: Engine, plan_id: str) -> int | None:
    """The entitlement version leads holds for the plan."""
    with engine.connect() as conn:
        return conn.execute(select(entitlements.c.version)
                            .where(entitlements.c.plan_id == plan_id)).scalar()


def test_a_take_waits_for_accounts_when_no_event_told_about_the_office(cfg: dict[str, Any], engine: Engine,
                                                                        fakes: tuple[type, type]) -> None:
    """The take uses the office's one check: an office no event told about is asked of
    accounts, and accounts being unreachable is a refusal to retry, never an open door."""
    from leads.service import LeadsService
    from suivi_common.rpc import RpcClient
    from suivi_common.testing import infra

    fake_plans, _ = fakes
    snap = testing.snapshot("p1", "u1", {clock.today(): 2})
    with infra.running(cfg, LeadsService, fake_plans):  # no accounts
        testing.publish_event(cfg["AMQP_URI"], "plans", "plan_activated", snap)
        testing.wait_for(lambda: held(engine, "p1") == 1)
        with RpcClient(cfg["AMQP_URI"], principal={"user_id": "u1", "role": "user",
                                                   "network_id": "net-1"}) as client:
            with pytest.raises(Conflict) as err:
                client.leads.take("p1")
    assert err.value.code == "office_status_unavailable"


def test_inactive_plan_cannot_take(stack: Any) -> None:
    today = clock.today()
    stack.plan("p1", "u1", {today: 5})
    stack.plan("p1", "u1", {}, status="completed", version=2)
    with stack.member("u1") as rpc:
        with pytest.raises(Conflict) as err:
            rpc.take("p1")
    assert err.value.code == "plan_not_active"


def test_older_snapshots_are_ignored(stack: Any) -> None:
    today = clock.today()
    stack.plan("p1", "u1", {today: 5}, version=3)
    testing.publish_event(stack.uri, "plans", "plan_changed",
                          testing.snapshot("p1", "u1", {today: 50}, version=2))
    stack.plan("p2", "u2", {today: 1})  # a later event, to know the stale one was handled
    assert stack.scalar(select(entitlements.c.quota_schedule)
                        .where(entitlements.c.plan_id == "p1")) == {today.isoformat(): 5}


def test_fair_shares_under_shortage_through_the_service(stack: Any) -> None:
    today = clock.today()
    for pid, quota in (("a", 10), ("b", 20), ("c", 30)):
        stack.plan(pid, f"user-{pid}", {today: quota}, auto=True)
    stocked(stack, 30)  # the capture triggers a run for the group
    testing.wait_for(lambda: stack.count(stock) == 0)
    with stack.rpc() as rpc:
        assert rpc.run_auto_delivery()["delivered"] == 0  # nothing left to hand out
    got = dict(stack.rows(select(plan_days.c.plan_id, plan_days.c.taken)))
    assert got == {"a": 5, "b": 10, "c": 15}
    shortfalls = dict(stack.rows(select(plan_days.c.plan_id, plan_days.c.shortfall)))
    assert shortfalls == {"a": 5, "b": 10, "c": 15}
    assert stack.count(deliveries, deliveries.c.via == "auto") == 30
    # auto-delivered leads are re-keyed shortly after, in batches
    testing.wait_for(lambda: stack.count(deliveries, deliveries.c.rekeyed_at.is_(None)) == 0)
    assert {r.key_scope for r in stack.rows(select(leads))} == {"net-1"}


def test_auto_delivery_toggle_and_timer_run_serve_without_a_click(stack: Any) -> None:
    today = clock.today()
    stack.plan("p1", "u1", {today: 4})
    stocked(stack, 6)
    assert stack.count(deliveries) == 0  # manual plan: nothing moves by itself
    with stack.member("u1") as rpc:
        assert rpc.set_auto_delivery("p1", True) == {"plan_id": "p1", "auto_delivery": True}
    testing.wait_for(lambda: stack.count(deliveries) == 4)
    # a newer snapshot saying auto_delivery=false does not undo the owner's choice
    stack.plan("p1", "u1", {today: 6}, version=2)
    with stack.rpc() as rpc:
        assert rpc.run_auto_delivery()["delivered"] == 2


def test_auto_delivery_skips_offices_known_to_be_closed(stack: Any) -> None:
    today = clock.today()
    stack.plan("p1", "u1", {today: 3}, auto=True)
    stack.plan("p2", "u2", {today: 3}, auto=True)
    stack.office("u2", False)
    stocked(stack, 6)
    testing.wait_for(lambda: stack.count(deliveries) == 3)
    with stack.rpc() as rpc:
        assert rpc.run_auto_delivery()["delivered"] == 0
    assert stack.count(deliveries, deliveries.c.plan_id == "p2") == 0


def test_auto_delivery_stops_for_a_member_who_lost_take_leads_and_resumes_when_given_back(
        stack: Any) -> None:
    """Issue 13 4: a level without ``take_leads`` stops the member's auto-delivery already
    on, as it refuses their manual take; given back, their plans are served at once."""
    today, now = clock.today(), clock.now()
    stack.plan("p1", "u1", {today: 3}, auto=True)
    stack.plan("p2", "u2", {today: 3}, auto=True)
    stack.permissions("u2", ["buy_leads", "export_leads"], as_of=now)
    stocked(stack, 6)
    testing.wait_for(lambda: stack.count(deliveries) == 3)
    with stack.rpc() as rpc:  # a whole run, stock left over: still nothing for u2
        assert rpc.run_auto_delivery()["delivered"] == 0
    assert stack.count(deliveries, deliveries.c.plan_id == "p1") == 3
    assert stack.count(deliveries, deliveries.c.plan_id == "p2") == 0
    stack.permissions("u2", ["buy_leads", "take_leads"], as_of=now + timedelta(seconds=1))
    testing.wait_for(lambda: stack.count(deliveries, deliveries.c.plan_id == "p2") == 3)


def test_an_older_word_on_a_members_permissions_arriving_late_changes_nothing(
        stack: Any) -> None:
    from leads.usecases.entitlements import record_take_permission
    now = clock.now()
    with Session(stack.engine) as session, session.begin():
        assert record_take_permission(session, "u1", False, now)
        assert not record_take_permission(session, "u1", True, now - timedelta(seconds=5))
        assert record_take_permission(session, "u1", False, now)  # a replay: same word
    assert stack.scalar(select(member_permissions.c.take_leads)
                        .where(member_permissions.c.user_id == "u1")) is False


def test_freshness_withdraws_old_leads_from_sale(stack: Any) -> None:
    today = clock.today()
    start = clock.now()
    stocked(stack, 3)
    clock.freeze(start + timedelta(days=20))
    stocked(stack, 2, start=10)
    clock.freeze(start + timedelta(days=30, minutes=1))
    stack.plan("p1", "u1", {clock.today(): 10})
    with stack.member("u1") as rpc:
        result = rpc.take("p1")
    assert len(result["leads"]) == 2  # only the fresh ones
    with stack.staff() as rpc, pytest.raises(Forbidden):  # for leads' timer (and services)
        rpc.check_stock()
    with stack.rpc(service="leads") as rpc:
        assert rpc.check_stock()["withdrawn"] == 3
    assert stack.count(stock) == 0
    assert stack.count(leads, leads.c.withdrawn_at.isnot(None)) == 3
    assert today  # captured on a real day


def test_stock_view_and_shortage_alert_once_per_group_and_day(stack: Any, fake_state: dict[str, Any]) -> None:
    today = clock.today()
    stack.plan("p1", "u1", {today: 8})
    stack.plan("p2", "u2", {today: 4}, tier="standard")
    stocked(stack, 5)
    stocked(stack, 6, tier="standard", start=50)
    with stack.member("u1") as rpc:
        rpc.take("p1", limit=1)
    with stack.staff() as rpc:
        levels = {(i["country"], i["tier"]): i for i in rpc.stock_levels()["items"]}
    with stack.rpc(service="leads") as rpc:
        first = rpc.check_stock()["alerts"]
        second = rpc.check_stock()["alerts"]
    with stack.staff() as rpc:
        listed = rpc.stock_alerts()["items"]
    plus = levels[("FR", "premium_plus")]
    assert (plus["available"], plus["demand_today"], plus["short"]) == (4, 7, True)
    assert plus["oldest_age_hours"] is not None and plus["oldest_age_hours"] < 1
    std = levels[("FR", "standard")]
    assert (std["available"], std["demand_today"], std["short"]) == (6, 4, False)
    assert [(a["tier"], a["demand"], a["available"]) for a in first] == [("premium_plus", 7, 4)]
    assert second == []
    assert [(a["country"], a["tier"], a["date"]) for a in listed] == [
        ("FR", "premium_plus", today.isoformat())]
    events = stack.rows(select(common.outbox.c.payload)
                        .where(common.outbox.c.event_type == "stock_short"))
    assert len(events) <= 1  # the relay may already have published it


def test_stock_alerts_page_with_a_cursor(stack: Any) -> None:
    """More alerts than a page: the pages walk them all once, in the listing's order
    (newest day first, then country and tier), with or without a day."""
    today = clock.today()
    groups = [("BE", "standard"), ("FR", "premium"), ("FR", "standard")]
    alerts = [{"country": c, "tier": t, "day": today - timedelta(days=d), "demand": 5,
               "available": 1, "created_at": clock.now()} for d in range(3) for c, t in groups]
    with stack.engine.begin() as conn:
        conn.execute(insert(stock_alerts), alerts)

    def walk(rpc: Any, limit: int, date: str | None = None) -> tuple[list[Any], int]:
        seen, cursor, pages = [], None, 0
        while True:
            page = rpc.stock_alerts(date, cursor, limit)
            seen += [(a["date"], a["country"], a["tier"]) for a in page["items"]]
            pages, cursor = pages + 1, page["next_cursor"]
            if cursor is None:
                return seen, pages

    expected = [(a["day"].isoformat(), a["country"], a["tier"]) for a in alerts]
    with stack.staff() as rpc:
        assert walk(rpc, 4) == (expected, 3)
        assert walk(rpc, 2, today.isoformat()) == (expected[:3], 2)
        everything = rpc.stock_alerts()  # no limit: as large as pages go
        assert len(everything["items"]) == 9 and everything["next_cursor"] is None
        for cursor in ("not a cursor", paging.encode_cursor("x", kind="notes"),
                       paging.encode_cursor("yesterday", "FR", "premium", kind="stock_alerts")):
            with pytest.raises(Invalid):
                rpc.stock_alerts(None, cursor, 4)
        with pytest.raises(Invalid):
            rpc.stock_alerts(None, None, 501)


def test_set_based_events_wake_the_relay_when_the_transaction_commits(engine: Engine) -> None:
    """Event rows written in SQL (a take, a group served in a handler) are published as
    soon as the worker's transaction commits (``Db.wake_relay``), not at the relay's next
    poll; rolled back, they wake nothing."""
    woken: list[str] = []
    db = SimpleNamespace(wake_relay=lambda: woken.append("woken"))
    for outcome in ("commit", "rollback"):
        with Session(engine) as session:
            ctx = Ctx(session=session, vault=None, emit=None, principal=None, trace={},
                      require_office_open=lambda _user: None, db=db)
            ctx.wake_on_commit(0)  # nothing written: nothing to publish
            ctx.wake_on_commit(2)
            session.execute(text("SELECT 1"))
            assert woken == ([] if outcome == "commit" else ["woken"])
            getattr(session, outcome)()
    assert woken == ["woken"]


def test_entitlements_resync_from_plans_at_start_up(cfg: dict[str, Any], engine: Engine,
                                                    fake_state: dict[str, Any],
                                                    fakes: tuple[type, type]) -> None:
    from leads.service import LeadsService
    from suivi_common.rpc import RpcClient
    from suivi_common.testing import infra

    fake_plans, _ = fakes
    today = clock.today()
    fake_state["entitlements"] = [testing.snapshot("p9", "u9", {today: 3}, version=4)]
    conf = {**cfg, "ENTITLEMENT_SYNC_RETRY_SECONDS": 0.3}

    def held() -> int | None:
        with engine.connect() as conn:
            return conn.execute(select(entitlements.c.version)
                                .where(entitlements.c.plan_id == "p9")).scalar()

    with infra.running(conf, LeadsService):  # plans is down: start-up is not blocked
        with RpcClient(conf["AMQP_URI"]) as rpc:
            assert rpc.leads.health()["status"] == "ok"
        assert held() is None
        with infra.running(conf, fake_plans):  # plans comes up: the retry succeeds
            testing.wait_for(lambda: held() == 4)
