"""Closing the books: shortfall vs forfeit reported to plans, and takes racing the close."""
from __future__ import annotations

from datetime import datetime, timedelta

import eventlet
import pytest
from sqlalchemy import func, select

from leads import distribution, testing
from leads.models import day_closes, deliveries
from suivi_common import clock
from suivi_common.clock import PARIS
from suivi_common.errors import Conflict


def stocked(stack, n: int, start: int = 0) -> None:
    key = stack.new_site_key()
    assert {r["status"] for r in stack.capture(
        key, [testing.raw_lead(start + i) for i in range(n)])} == {"accepted"}


def at(day, hh: int, mm: int = 0, ss: float = 0) -> datetime:
    whole = int(ss)
    return datetime(day.year, day.month, day.day, hh, mm, whole,
                    int((ss - whole) * 1e6), tzinfo=PARIS)


def test_shortfall_and_forfeit_are_reported_once_per_plan_and_day(stack, fake_state) -> None:
    day = clock.today()
    clock.freeze(at(day, 10))
    stack.plan("short", "u1", {day: 10})  # stock falls short: 3 taken, 7 shortfall
    stack.plan("lazy", "u2", {day: 5})  # never takes while stock exists: 5 forfeited
    stack.plan("partial", "u3", {day: 4})  # takes 2 of 4 with stock available: 2 forfeited
    stocked(stack, 5)
    with stack.member("u3") as rpc:
        assert len(rpc.take("partial", limit=2)["leads"]) == 2
    with stack.member("u1") as rpc:
        assert rpc.take("short")["shortfall_today"] == 7
    with stack.rpc() as rpc:
        with pytest.raises(Conflict) as err:
            rpc.close_books(day.isoformat(), ["short"])  # the day is not over
        assert err.value.code == "day_close_not_over"
        clock.freeze(at(day + timedelta(days=1), 0, 5))
        first = rpc.close_books(day.isoformat(), ["short", "lazy", "partial"])
        again = rpc.close_books(day.isoformat(), ["short", "lazy", "partial"])
    report = {i["plan_id"]: (i["taken"], i["shortfall"]) for i in first["items"]}
    assert report == {"short": (3, 7), "lazy": (0, 0), "partial": (2, 0)}
    assert {i["already_closed"] for i in again["items"]} == {True}
    assert {i["plan_id"]: (i["taken"], i["shortfall"]) for i in again["items"]} == report
    testing.wait_for(lambda: len(fake_state["closed"]) == 3)
    eventlet.sleep(0.3)
    assert sorted((e["plan_id"], e["date"], e["taken"], e["shortfall"])
                  for e in fake_state["closed"]) == [
        ("lazy", day.isoformat(), 0, 0), ("partial", day.isoformat(), 2, 0),
        ("short", day.isoformat(), 3, 7)]


def test_a_take_in_flight_at_midnight_is_counted_in_the_day_it_read(stack, monkeypatch) -> None:
    """The take locks the plan and reads D; the close of D waits for it and counts it."""
    day = clock.today()
    stack.plan("p1", "u1", {day: 3, day + timedelta(days=1): 3})
    stocked(stack, 10)
    clock.freeze(at(day, 23, 59, 59.5))
    inside = eventlet.event.Event()
    release = eventlet.event.Event()

    def pause() -> None:
        inside.send()
        release.wait()

    monkeypatch.setattr(distribution, "in_take_transaction", pause)

    def take() -> dict:
        with stack.member("u1") as rpc:
            return rpc.take("p1")

    taking = eventlet.spawn(take)
    inside.wait()  # the take holds the plan's lock and has read "today" = D
    monkeypatch.setattr(distribution, "in_take_transaction", lambda: None)
    clock.freeze(at(day + timedelta(days=1), 0, 0, 1))

    def close() -> dict:
        with stack.rpc() as rpc:
            return rpc.close_books(day.isoformat(), ["p1"])

    closing = eventlet.spawn(close)
    eventlet.sleep(0.5)
    assert stack.count(day_closes) == 0  # the close waits for the take's lock
    release.send()
    assert taking.wait()["taken_today"] == 3
    assert closing.wait()["items"][0]["taken"] == 3
    # after the close, "today" is D+1: a new take counts there, the closed day never moves
    with stack.member("u1") as rpc:
        assert rpc.take("p1", limit=2)["taken_today"] == 2
    by_day = dict(stack.rows(select(deliveries.c.day, func.count()).group_by(deliveries.c.day)))
    assert by_day == {day: 3, day + timedelta(days=1): 2}


def test_many_takes_racing_the_close_are_each_counted_exactly_once(stack) -> None:
    """Real clock running across midnight; the close retries until the day is over."""
    day = clock.today()
    plans = [f"p{i}" for i in range(8)]
    for i, pid in enumerate(plans):
        stack.plan(pid, f"u{i}", {day: 6, day + timedelta(days=1): 6})
    stocked(stack, 100)
    go = eventlet.event.Event()

    def taker(i: int) -> None:
        with stack.member(f"u{i}") as rpc:
            go.wait()
            for _ in range(6):
                rpc.take(f"p{i}", limit=1)
                eventlet.sleep(0.03)

    def closer() -> dict:
        with stack.rpc() as rpc:
            go.wait()
            while True:
                try:
                    return rpc.close_books(day.isoformat(), plans)
                except Conflict:
                    eventlet.sleep(0.02)

    pool = [eventlet.spawn(taker, i) for i in range(len(plans))]
    closing = eventlet.spawn(closer)
    eventlet.sleep(1.0)  # clients connected
    clock.set_now(at(day, 23, 59, 59.7))
    go.send()
    for g in pool:
        g.wait()
    closed = {i["plan_id"]: i["taken"] for i in closing.wait()["items"]}
    counted = dict(stack.rows(select(deliveries.c.plan_id, func.count())
                              .where(deliveries.c.day == day).group_by(deliveries.c.plan_id)))
    assert closed == {pid: counted.get(pid, 0) for pid in plans}
    assert 0 < sum(counted.values()) < 6 * len(plans)  # the takes did straddle midnight
    assert stack.count(deliveries) == 6 * len(plans)  # nothing lost either side of midnight
