from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from plans.domain.plan import Plan
from plans.testing import d

MakePlan = Callable[..., Plan]
JUNE = date(2026, 6, 1)


def test_end_is_start_plus_29_days(make_plan: MakePlan) -> None:
    plan = make_plan()
    assert plan.end_date == d(30)


@pytest.mark.parametrize(
    ("blocked", "end"),
    [
        ([], d(30)),
        ([d(1)], d(1, 7)),  # the start itself can be blocked
        ([d(10), d(11)], d(2, 7)),
        ([d(10), d(10)], d(1, 7)),  # the same day twice counts once
        ([d(3, 7)], d(30)),  # after the end: no effect ...
        ([d(15), d(1, 7)], d(2, 7)),  # ... until the end moves onto it
        ([d(29), d(30), d(1, 7), d(2, 7)], d(4, 7)),
        ([d(31, 5)], d(30)),  # before the start: no effect
    ],
)
def test_blocked_days_push_the_end_back(make_plan: MakePlan, blocked: list[date], end: date) -> None:
    plan = make_plan()
    plan.block_dates(blocked)
    assert plan.end_date == end
    assert plan.remaining_delivery_days(plan.start_date or JUNE) == 30


def test_block_dates_reports_only_new_days(make_plan: MakePlan) -> None:
    plan = make_plan()
    assert plan.block_dates([d(10), d(11)]) == 2
    assert plan.block_dates([d(11), d(12)]) == 1
    assert plan.blocked_dates == {d(10), d(11), d(12)}


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (d(25, 5), 30),  # before the start: the whole plan
        (d(1), 30),
        (d(2), 29),
        (d(9), 22),
        (d(10), 21),  # blocked day itself is not a delivery day
        (d(12), 21),
        (d(30), 3),
        (d(2, 7), 1),  # the moved end
        (d(3, 7), 0),
    ],
)
def test_remaining_delivery_days_skip_blocked_days(make_plan: MakePlan, day: date, expected: int) -> None:
    plan = make_plan()
    plan.block_dates([d(10), d(11)])
    assert plan.remaining_delivery_days(day) == expected


@pytest.mark.parametrize(
    ("remaining", "day", "expected"),
    [
        (300, d(1), 10),
        (301, d(1), 11),  # ceil
        (300, d(2), 11),  # ceil(300 / 29)
        (30, d(1, 7), 30),  # the (moved) last day owes everything left
        (5, d(20), 1),
        (300, d(10), 0),  # blocked
        (300, d(31, 5), 0),  # before the start
        (300, d(2, 7), 0),  # after the end
        (0, d(5), 0),
    ],
)
def test_quota_is_ceil_of_remaining_over_delivery_days_left(
    make_plan: MakePlan, remaining: int, day: date, expected: int
) -> None:
    plan = make_plan()
    plan.block_dates([d(10)])
    assert plan.end_date == d(1, 7)
    plan.remaining = remaining
    assert plan.quota_for(day) == expected


def test_quota_follows_remaining_and_days(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    assert plan.quota_for(d(1)) == 10
    plan.remaining = 450
    assert plan.quota_for(d(1)) == 15
    plan.delivery_days_total = 45
    assert plan.quota_for(d(1)) == 10
    assert plan.quota_for(d(1), remaining=90) == 2


def test_every_day_of_a_plan_is_a_delivery_day_unless_blocked(make_plan: MakePlan) -> None:
    plan = make_plan()
    plan.block_dates([d(6), d(7)])
    days = [d(1) + timedelta(days=offset) for offset in range(40)]
    delivery = [day for day in days if plan.is_delivery_day(day)]
    assert len(delivery) == 30
    assert delivery[0] == d(1) and delivery[-1] == d(2, 7)
    assert d(6) not in delivery
