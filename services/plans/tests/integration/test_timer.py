"""The day-close timer, on two plans instances at once: catch-up of missed days in date
order, leads being down, and a paid extension waiting for its plan's books."""
from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plans.models import extensions
from plans.service import PlansService
from plans.testing import MONDAY, U1, freeze_on, wait_for

STACK_CONFIG = {"DAY_CLOSE_INTERVAL_SECONDS": 0.2}
EXTRA_SERVICES = (PlansService,)  # a second instance: both timers run, both handle events

D = timedelta(days=1)
INSTANCES = 2


class Ticks:
    """The day-close ticks each plans instance finished. "Nothing more may happen" is
    checked after a *round*: every instance finished a tick that began after the moment
    in question, whatever the machine's speed (a sleep would only hope for it)."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self.started = 0
        self.finished: list[tuple[int, int]] = []  # (instance, sequence number)

    def begin(self) -> int:
        with self._lock:
            self.started = next(self._seq)
            return self.started

    def round(self) -> None:
        """Wait until each instance has run one whole tick that started from now on."""
        mark = self.started
        wait_for(lambda: len({who for who, seq in self.finished if seq > mark}) >= INSTANCES,
                 what=f"a day-close tick of each of the {INSTANCES} instances")


@pytest.fixture
def ticks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ticks]:
    log = Ticks()
    tick = PlansService.day_close_tick

    def counted(self: PlansService) -> None:
        seq = log.begin()
        try:
            tick(self)
        finally:
            log.finished.append((id(self.db._provider), seq))  # one provider per instance

    monkeypatch.setattr(PlansService, "day_close_tick", counted)
    yield log


def activate(world: Any, records: int = 300) -> str:
    bought = world.call(U1, "create_plan", records, "standard", "FR", "card")
    world.pay(bought["payment"]["id"])
    world.wait_snapshot(bought["id"], 1)
    return bought["id"]


def test_missed_days_are_closed_in_order_once_leads_is_back(world: Any, ticks: Ticks) -> None:
    plan_id = activate(world)
    book = world.fake.book
    book.take(plan_id, 10, day=MONDAY)
    book.take(plan_id, 5, shortfall=2, day=MONDAY + D)
    book.take(plan_id, 10, day=MONDAY + 2 * D)
    book.available = False
    freeze_on(MONDAY + 3 * D)  # Thursday: Monday to Wednesday are due
    ticks.round()  # both instances tried, and leads refused them
    assert book.refused >= INSTANCES and book.close_calls == []
    assert world.plan(plan_id).plan.last_closed_date is None
    book.available = True
    wait_for(lambda: world.plan(plan_id).plan.last_closed_date == MONDAY + 2 * D)
    ticks.round()  # both instances keep ticking: nothing more may happen
    world.settle()
    plan = world.plan(plan_id).plan
    assert plan.remaining == 300 - 10 - 5 - 3 - 10  # Tuesday: 5 taken, 2 short, 3 forfeited
    assert plan.forfeits == {MONDAY + D: 3}
    first_calls = [day for day, _ in book.close_calls]
    assert sorted(first_calls) == first_calls  # oldest first
    assert set(first_calls) == {MONDAY, MONDAY + D, MONDAY + 2 * D}
    versions = Counter(s["version"] for s in world.snapshots(plan_id))
    assert max(versions.values()) == 1  # no version emitted twice
    assert world.plan(plan_id).version == max(versions)


def test_a_paid_extension_waits_for_the_books_then_the_timer_applies_it(
        world: Any, ticks: Ticks) -> None:
    plan_id = activate(world)
    order = world.call(U1, "extend_plan", plan_id, 30, "card")
    world.fake.book.available = False
    freeze_on(MONDAY + D)
    world.pay(order["payment"]["id"])

    def status() -> str:
        with Session(world.engine) as session:
            return session.execute(select(extensions.c.status)).scalar_one()

    wait_for(lambda: status() == "paid")
    ticks.round()  # both timers ran with leads down: the books stay open, the extension waits
    assert world.fake.book.refused >= INSTANCES
    assert world.plan(plan_id).plan.remaining == 300
    assert status() == "paid"
    world.fake.book.available = True
    wait_for(lambda: status() == "applied")
    plan = world.plan(plan_id).plan
    assert plan.remaining == 290 + 30 and plan.start_date == MONDAY + D
    assert plan.end_date == MONDAY + 30 * D
