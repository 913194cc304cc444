"""Closing the books: shortfall vs forfeit reported to plans, and takes racing the close.

No test here waits on wall time: the clock is frozen and moved by hand, a race is made by
holding one side at a hook inside the code under test (``distribution.in_take_transaction``,
``daybook.in_settlement``), and "the close is waiting" is read from PostgreSQL
(``pg_stat_activity``), not assumed after a sleep.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import eventlet
import pytest
from sqlalchemy import func, select, text

from leads import testing
from leads.models import (
    day_closes,
    day_settlements,
    deliveries,
    entitlements,
    group_days,
    plan_days,
)
from leads.usecases import daybook, distribution
from suivi_common import clock
from suivi_common.clock import PARIS
from suivi_common.errors import Conflict

DAY = timedelta(days=1)


@pytest.fixture
def cfg(cfg: dict[str, Any]) -> dict[str, Any]:
    """Room for every call a race holds at once (nameko's defaults: 10 workers, and 10
    unacknowledged messages per consumer)."""
    return {**cfg, "max_workers": 32, "PREFETCH_COUNT": 32}


def stocked(stack: Any, n: int, start: int = 0, **lead: Any) -> None:
    key = stack.new_site_key()
    assert {r["status"] for r in stack.capture(
        key, [testing.raw_lead(start + i, **lead) for i in range(n)])} == {"accepted"}


def at(day: date, hh: int, mm: int = 0, ss: float = 0) -> datetime:
    whole = int(ss)
    return datetime(day.year, day.month, day.day, hh, mm, whole,
                    int((ss - whole) * 1e6), tzinfo=PARIS)


def close(stack: Any, day: date, plan_ids: list[str]) -> dict[str, tuple[int, int]]:
    with stack.rpc() as rpc:
        items = rpc.close_books(day.isoformat(), plan_ids)["items"]
    return {i["plan_id"]: (i["taken"], i["shortfall"]) for i in items}


def lock_waiters(stack: Any, kind: str | None = None) -> int:
    """Backends of the leads database waiting on a lock (row locks: ``transactionid`` or
    ``tuple``; ``advisory``), seen by PostgreSQL itself."""
    return int(stack.scalar(text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND (CAST(:kind AS text) IS NULL OR wait_event = :kind)"
    ).bindparams(kind=kind)))


class Gate:
    """A hook that holds every caller while closed, and says when ``expected`` are in."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.inside = 0
        self.all_in = eventlet.event.Event()
        self.released = eventlet.event.Event()
        self.holding = True

    def __call__(self) -> None:
        if not self.holding:
            return
        self.inside += 1
        if self.inside == self.expected:
            self.all_in.send()
        self.released.wait()

    def wait_all_in(self, timeout: float = 60) -> None:
        with eventlet.Timeout(timeout):
            self.all_in.wait()

    def open(self) -> None:
        self.holding = False
        self.released.send()


@pytest.fixture
def gate(stack: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, int], Gate]]:
    """``gate(hook, expected)`` puts a Gate on the use case's ``<hook>`` (``in_take_transaction``
    of the distribution, ``in_settlement`` of the day book); every gate is
    opened before the service stops, so a failing test never leaves workers held."""
    made: list[Gate] = []

    def put(hook: str, expected: int) -> Gate:
        made.append(Gate(expected))
        monkeypatch.setattr(daybook if hook == "in_settlement" else distribution, hook, made[-1])
        return made[-1]

    yield put
    for g in made:
        if g.holding:
            g.open()


def closed_events(fake_state: dict[str, Any], stack: Any, day: date) -> list[tuple[str, str, int, int]]:
    """The ``plan_day_closed`` events plans received, counted exactly: the events of one
    close are published in outbox order, so once a marker closed after them has arrived,
    every earlier one has."""
    marker = f"marker-{len(fake_state['closed'])}"
    # a plan of its own group, held by leads (a plan leads does not hold is not closed)
    stack.plan(marker, "marker-owner", {day: 0}, country="MC")
    close(stack, day, [marker])
    testing.wait_for(lambda: any(e["plan_id"] == marker for e in fake_state["closed"]), 60)
    return sorted((e["plan_id"], e["date"], e["taken"], e["shortfall"])
                  for e in fake_state["closed"] if not e["plan_id"].startswith("marker-"))


# --- shortfall vs forfeit ---------------------------------------------------------------------

def test_shortfall_and_forfeit_are_reported_once_per_plan_and_day(stack: Any,
                                                                  fake_state: dict[str, Any]) -> None:
    day = clock.today()
    clock.freeze(at(day, 10))
    stack.plan("short", "u1", {day: 10})  # asks when stock falls short: 3 taken, 7 shortfall
    stack.plan("lazy", "u2", {day: 5})  # never takes; stock is left at the close: forfeited
    stack.plan("partial", "u3", {day: 4})  # takes 2 of 4; stock left at the close: forfeited
    stocked(stack, 5)
    with stack.member("u3") as rpc:
        assert len(rpc.take("partial", limit=2)["leads"]) == 2
    with stack.member("u1") as rpc:
        assert rpc.take("short")["shortfall_today"] == 7
    clock.freeze(at(day, 15))
    stocked(stack, 7, start=100)  # arrives later, nobody takes it: enough for lazy + partial
    with stack.rpc() as rpc:
        with pytest.raises(Conflict) as err:
            rpc.close_books(day.isoformat(), ["short"])  # the day is not over
        assert err.value.code == "day_close_not_over"
        clock.freeze(at(day + DAY, 0, 5))
        first = rpc.close_books(day.isoformat(), ["short", "lazy", "partial"])
        again = rpc.close_books(day.isoformat(), ["short", "lazy", "partial"])
    report = {i["plan_id"]: (i["taken"], i["shortfall"]) for i in first["items"]}
    # the shortfall "short" met at take time stays, though stock came later
    assert report == {"short": (3, 7), "lazy": (0, 0), "partial": (2, 0)}
    assert {i["already_closed"] for i in first["items"]} == {False}
    assert {i["already_closed"] for i in again["items"]} == {True}
    assert {i["plan_id"]: (i["taken"], i["shortfall"]) for i in again["items"]} == report
    assert closed_events(fake_state, stack, day) == [
        ("lazy", day.isoformat(), 0, 0), ("partial", day.isoformat(), 2, 0),
        ("short", day.isoformat(), 3, 7)]
    assert stack.rows(select(group_days.c.open_quota, group_days.c.leftover,
                             group_days.c.missing)) == [(7, 7, 0)]


def test_a_plan_that_reaches_leads_after_its_day_was_settled_is_owed_not_forfeit(
        stack: Any, fake_state: dict[str, Any]) -> None:
    """Shortfall point 7: plans activated "late" on its first day, and its entitlement was
    still on its way when the day closed. Leads neither freezes that day as all forfeit
    (the plan stays open, and plans asks again) nor forgets it once it arrives."""
    day = clock.today()
    clock.freeze(at(day, 9))
    stack.plan("known", "u2", {day: 3})
    stocked(stack, 5)  # FR stock left over: the known plan forfeits what it did not take
    clock.freeze(at(day + DAY, 0, 10))
    assert close(stack, day, ["known", "late"]) == {"known": (0, 0)}  # the day is settled
    stack.plan("late", "u1", {day: 10, day + DAY: 10})
    with stack.rpc() as rpc:
        first = rpc.close_books(day.isoformat(), ["late"])["items"]
        again = rpc.close_books(day.isoformat(), ["late"])["items"]
    assert [(i["taken"], i["shortfall"], i["already_closed"]) for i in first] == [(0, 10, False)]
    assert [(i["taken"], i["shortfall"], i["already_closed"]) for i in again] == [(0, 10, True)]
    assert closed_events(fake_state, stack, day) == [
        ("known", day.isoformat(), 0, 0), ("late", day.isoformat(), 0, 10)]


def test_a_plan_with_no_stock_at_all_is_all_shortfall_though_its_owner_never_came(
        stack: Any, fake_state: dict[str, Any]) -> None:
    """Terms art. 8.B: the CH plan's 10 leads stay owed (plans keeps 300 remaining)."""
    day = clock.today()
    clock.freeze(at(day, 9))
    stack.plan("ch", "u1", {day: 10, day + DAY: 10}, country="CH")
    stack.plan("fr", "u2", {day: 3})
    stocked(stack, 20)  # FR stock only: it cannot serve a CH plan
    clock.freeze(at(day + DAY, 0, 10))
    assert close(stack, day, ["ch", "fr"]) == {"ch": (0, 10), "fr": (0, 0)}
    assert closed_events(fake_state, stack, day) == [
        ("ch", day.isoformat(), 0, 10), ("fr", day.isoformat(), 0, 0)]
    assert stack.rows(select(group_days.c.open_quota, group_days.c.leftover,
                             group_days.c.missing, group_days.c.shares)
                      .where(group_days.c.country == "CH")) == [(10, 0, 10, {"ch": 10})]
    # plans keeps the 10 owed: its next snapshot still says 300; leads follows it
    snap = testing.snapshot("ch", "u1", {day + DAY: 10, day + 2 * DAY: 10}, country="CH",
                            version=2)
    snap["records_remaining"] = 300
    testing.publish_event(stack.uri, "plans", "plan_changed", snap)
    testing.wait_for(lambda: stack.scalar(select(entitlements.c.version)
                                          .where(entitlements.c.plan_id == "ch")) == 2)
    assert stack.scalar(select(entitlements.c.records_remaining)
                        .where(entitlements.c.plan_id == "ch")) == 300
    assert close(stack, day, ["ch"]) == {"ch": (0, 10)}  # the closed day never moves


def test_stock_that_runs_dry_at_midday_leaves_the_plan_that_never_took_short(stack: Any) -> None:
    day = clock.today()
    clock.freeze(at(day, 8))
    stack.plan("morning", "u1", {day: 4})
    stack.plan("never", "u2", {day: 6})
    stocked(stack, 4)
    clock.freeze(at(day, 9))
    with stack.member("u1") as rpc:
        took = rpc.take("morning")
    assert len(took["leads"]) == 4 and took["shortfall_today"] == 0  # served in full
    clock.freeze(at(day + DAY, 0, 5))
    assert close(stack, day, ["morning", "never"]) == {"morning": (4, 0), "never": (0, 6)}


def test_stock_gone_stale_during_the_day_could_have_served_it(stack: Any) -> None:
    """Fresh at the start of the day, stale at noon and withdrawn at 15:00: those leads
    were on sale in the morning (forfeit). Leads stale before the day began were not
    (shortfall), however late the withdrawal timer ran."""
    day = clock.today()
    clock.freeze(at(day - 31 * DAY, 12))
    stocked(stack, 5, tier="premium")  # stale since D-1 12:00
    clock.freeze(at(day - 30 * DAY, 12))
    stocked(stack, 5, start=100)  # premium_plus, stale from about D 12:00
    clock.freeze(at(day, 9))
    stack.plan("plus", "u1", {day: 3})
    stack.plan("prem", "u2", {day: 2}, tier="premium")
    clock.freeze(at(day, 15))
    with stack.rpc(service="leads") as rpc:  # as leads' stock timer (services only)
        assert rpc.check_stock()["withdrawn"] == 10
    clock.freeze(at(day + DAY, 0, 5))
    assert close(stack, day, ["plus", "prem"]) == {"plus": (0, 0), "prem": (0, 2)}


def test_the_close_after_midnight_counts_the_day_not_the_next_morning(stack: Any) -> None:
    """Late-evening stock counts for its day, even when it is sold the next morning before
    the close; stock captured after midnight does not."""
    day = clock.today()
    clock.freeze(at(day, 9))
    stack.plan("p", "u1", {day: 5, day + DAY: 5})
    clock.freeze(at(day, 22, 30))
    stocked(stack, 3)  # the only stock of the day, captured late
    clock.freeze(at(day + DAY, 0, 10))
    stocked(stack, 10, start=100)  # the next day's stock
    with stack.member("u1") as rpc:
        assert rpc.take("p")["taken_today"] == 5  # D+1: 3 old leads and 2 new ones
    clock.freeze(at(day + DAY, 0, 30))
    # 5 untaken on D, 3 of them could have been served (the 22:30 leads): 2 shortfall
    assert close(stack, day, ["p"]) == {"p": (0, 2)}
    by_day = dict(stack.rows(select(deliveries.c.day, func.count()).group_by(deliveries.c.day)))
    assert by_day == {day + DAY: 5}


def test_two_plans_share_a_partial_shortage_even_closed_in_separate_calls(stack: Any) -> None:
    """8 unsold leads for open quotas 10, 6 and 1: 9 missing, shared 5, 3, 1 by largest
    remainder (5.29, 3.18, 0.53), whatever the order and split of the close calls."""
    day = clock.today()
    clock.freeze(at(day, 9))
    stack.plan("a", "u1", {day: 10, day + DAY: 10})
    stack.plan("b", "u2", {day: 6})
    stack.plan("c", "u3", {day: 1})
    stocked(stack, 8)
    clock.freeze(at(day + DAY, 0, 5))
    assert close(stack, day, ["a"]) == {"a": (0, 5)}
    # plans applies a's close and sends its next snapshot (D is no longer in the schedule)
    stack.plan("a", "u1", {day + DAY: 10}, version=2)
    assert close(stack, day, ["c", "b"]) == {"b": (0, 3), "c": (0, 1)}
    assert close(stack, day, ["a", "b", "c"]) == {"a": (0, 5), "b": (0, 3), "c": (0, 1)}
    assert stack.rows(select(group_days.c.open_quota, group_days.c.leftover,
                             group_days.c.missing, group_days.c.shares)) == [
        (17, 8, 9, {"a": 5, "b": 3, "c": 1})]
    assert stack.count(day_settlements) == 1


def test_closes_of_one_day_from_two_workers_settle_it_once(stack: Any,
                                                           gate: Callable[[str, int], Gate]) -> None:
    """Two instances closing the same day (different plans): the second waits for the
    first's settlement and reads it, so each plan's share is computed once."""
    day = clock.today()
    clock.freeze(at(day, 9))
    stack.plan("a", "u1", {day: 4})
    stack.plan("b", "u2", {day: 4})
    stocked(stack, 2)
    clock.freeze(at(day + DAY, 0, 5))
    held = gate("in_settlement", 1)
    first = eventlet.spawn(close, stack, day, ["a"])
    held.wait_all_in()  # the first close holds the day's settlement lock
    second = eventlet.spawn(close, stack, day, ["b"])
    testing.wait_for(lambda: lock_waiters(stack, "advisory") == 1, 60)
    assert stack.count(day_settlements) == 0
    held.open()
    assert first.wait() == {"a": (0, 3)} and second.wait() == {"b": (0, 3)}
    assert held.inside == 1  # the second close did not settle again
    assert stack.count(day_settlements) == 1 and stack.count(group_days) == 1
    assert dict(stack.rows(select(plan_days.c.plan_id, plan_days.c.shortfall))) == {
        "a": 3, "b": 3}


# --- takes racing the close ---------------------------------------------------------------------

def test_a_take_in_flight_at_midnight_is_counted_in_the_day_it_read(stack: Any,
                                                                    gate: Callable[[str, int], Gate]) -> None:
    """The take locks the plan and reads D; the close of D waits for it and counts it."""
    day = clock.today()
    stack.plan("p1", "u1", {day: 3, day + DAY: 3})
    stocked(stack, 10)
    clock.freeze(at(day, 23, 59, 59.5))
    held = gate("in_take_transaction", 1)

    def take() -> dict:
        with stack.member("u1") as rpc:
            return rpc.take("p1")

    taking = eventlet.spawn(take)
    held.wait_all_in()  # the take holds the plan's lock and has read "today" = D
    clock.freeze(at(day + DAY, 0, 0, 1))
    closing = eventlet.spawn(close, stack, day, ["p1"])
    testing.wait_for(lambda: lock_waiters(stack) == 1, 60)  # the close waits for the take
    assert stack.count(day_closes) == 0
    held.open()
    assert taking.wait()["taken_today"] == 3
    assert closing.wait() == {"p1": (3, 0)}
    # after the close, "today" is D+1: a new take counts there, the closed day never moves
    with stack.member("u1") as rpc:
        assert rpc.take("p1", limit=2)["taken_today"] == 2
    by_day = dict(stack.rows(select(deliveries.c.day, func.count()).group_by(deliveries.c.day)))
    assert by_day == {day: 3, day + DAY: 2}


def test_many_takes_racing_the_close_are_each_counted_exactly_once(stack: Any,
                                                                   gate: Callable[[str, int], Gate]) -> None:
    """Eight plans: takes before midnight, one take per plan in flight across midnight
    (holding its plan at the hook), the close of D started while they hold, and takes
    of D+1 queued behind them. Every take is counted once, in the day it read."""
    day, n = clock.today(), 8
    plans = [f"p{i}" for i in range(n)]
    for i, pid in enumerate(plans):
        stack.plan(pid, f"u{i}", {day: 6, day + DAY: 6})
        stack.office(f"u{i}", True)
    stocked(stack, 100)
    clock.freeze(at(day, 23, 59, 58))

    def take(i: int, limit: int) -> dict:
        with stack.member(f"u{i}") as rpc:
            return rpc.take(plans[i], limit=limit)

    before = {i: i % 4 for i in range(n)}  # 0 to 3 takes of one lead each
    for i in range(n):
        for _ in range(before[i]):
            take(i, 1)
    held = gate("in_take_transaction", n)
    in_flight = [eventlet.spawn(take, i, 1 + i % 2) for i in range(n)]
    held.wait_all_in()  # each holds its plan's lock, having read D
    clock.freeze(at(day + DAY, 0, 0, 1))
    closing = eventlet.spawn(close, stack, day, plans)
    testing.wait_for(lambda: lock_waiters(stack) == 1, 60)
    after = [eventlet.spawn(take, i, 2) for i in range(n)]
    testing.wait_for(lambda: lock_waiters(stack) == 1 + n, 60)  # all queued behind the locks
    assert stack.count(day_closes) == 0
    held.open()

    on_d = {i: before[i] + 1 + i % 2 for i in range(n)}
    assert [g.wait()["taken_today"] for g in in_flight] == [on_d[i] for i in range(n)]
    assert [g.wait()["taken_today"] for g in after] == [2] * n
    assert closing.wait() == {plans[i]: (on_d[i], 0) for i in range(n)}
    counted = {(r.plan_id, r.day): r.n for r in stack.rows(
        select(deliveries.c.plan_id, deliveries.c.day, func.count().label("n"))
        .group_by(deliveries.c.plan_id, deliveries.c.day))}
    assert counted == {**{(plans[i], day): on_d[i] for i in range(n)},
                       **{(plans[i], day + DAY): 2 for i in range(n)}}
    assert close(stack, day, plans) == {plans[i]: (on_d[i], 0) for i in range(n)}

