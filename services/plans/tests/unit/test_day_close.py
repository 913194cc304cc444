from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from plans.domain.day_close import DayReport, close_day, close_days
from plans.domain.plan import Plan, PlanStatus
from plans.domain.pricing import DEFAULT_PRICE_TABLE, quote_extension
from plans.testing import d
from suivi_common.errors import Conflict, Invalid

MakePlan = Callable[..., Plan]
TakeFull = Callable[[Plan, int], None]


@pytest.mark.parametrize(
    ("taken", "shortfall", "forfeited", "counted_shortfall", "remaining", "added"),
    [
        (10, 0, 0, 0, 290, 0),  # quota taken
        (7, 0, 3, 0, 290, 0),  # 3 not taken are lost
        (0, 0, 10, 0, 290, 0),
        (12, 0, 0, 0, 288, 0),  # taking more than due is fine
        (5, 5, 0, 5, 295, 1),  # platform short of 5: still owed, one more day
        (4, 3, 3, 3, 293, 1),
        (8, 5, 0, 2, 292, 1),  # shortfall beyond what was due does not count
        (0, 10, 0, 10, 300, 1),
        (0, 15, 0, 10, 300, 1),
        (10, 4, 0, 0, 290, 0),  # quota met: a reported shortfall is irrelevant
    ],
)
def test_close_day_outcomes(
    make_plan: MakePlan,
    taken: int,
    shortfall: int,
    forfeited: int,
    counted_shortfall: int,
    remaining: int,
    added: int,
) -> None:
    plan = make_plan(records=300)
    result = close_day(plan, DayReport(d(1), taken=taken, shortfall=shortfall), today=d(2))
    assert result.quota_due == 10
    assert (result.forfeited, result.shortfall) == (forfeited, counted_shortfall)
    assert result.remaining_after == plan.remaining == remaining
    assert result.delivery_days_added == added
    assert plan.end_date == d(30) + timedelta(days=added)
    assert plan.forfeits == ({d(1): forfeited} if forfeited else {})
    assert plan.last_closed_date == d(1)
    assert not result.skipped and not result.completed


def test_shortfall_lengthens_the_plan_by_the_minimum(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    result = close_day(plan, DayReport(d(1), taken=0, shortfall=10), today=d(2))
    assert result.delivery_days_added == 1
    assert plan.quota_for(d(2)) <= result.quota_due
    plan.delivery_days_total -= 1
    assert plan.quota_for(d(2)) > result.quota_due  # one day fewer would raise the quota


def test_shortfall_absorbed_by_rounding_needs_no_extra_day(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    plan.remaining = 295  # ceil(295 / 30) = 10
    result = close_day(plan, DayReport(d(1), taken=9, shortfall=1), today=d(2))
    assert result.shortfall == 1 and result.forfeited == 0
    assert result.delivery_days_added == 0  # ceil(286 / 29) = 10 is not higher
    assert plan.quota_for(d(2)) == 10


def test_repeated_shortfalls_move_the_end_each_time(make_plan: MakePlan) -> None:
    plan = make_plan(records=60)
    reports = [DayReport(d(day), taken=0, shortfall=2) for day in (1, 2, 3)]
    results = close_days(plan, reports, today=d(4))
    assert [r.delivery_days_added for r in results] == [1, 1, 1]
    assert plan.remaining == 60 and plan.end_date == d(3, 7)
    assert plan.quota_for(d(4)) == 2


def test_blocked_day_owes_nothing_but_counts_what_was_taken(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    plan.block_dates([d(1)])
    result = close_day(plan, DayReport(d(1), taken=0), today=d(2))
    assert (result.quota_due, result.forfeited, plan.remaining) == (0, 0, 300)
    plan.block_dates([d(2)])
    close_day(plan, DayReport(d(2), taken=3), today=d(3))
    assert plan.remaining == 297 and plan.forfeits == {}


def test_taking_every_quota_completes_on_the_last_day(make_plan: MakePlan, take_full: TakeFull) -> None:
    plan = make_plan(records=31)
    take_full(plan, 29)
    assert plan.status == PlanStatus.ACTIVE and plan.remaining == 1
    take_full(plan, 1)
    assert plan.status == PlanStatus.COMPLETED
    assert plan.remaining == 0 and plan.forfeits == {}
    assert plan.last_closed_date == plan.end_date == d(30)


def test_last_day_forfeits_what_is_left(make_plan: MakePlan) -> None:
    plan = make_plan(records=30)
    plan.last_closed_date, plan.remaining = d(29), 5
    result = close_day(plan, DayReport(d(30), taken=2), today=d(1, 7))
    assert (result.quota_due, result.forfeited) == (5, 3)
    assert result.completed and plan.status == PlanStatus.COMPLETED


def test_last_day_shortfall_keeps_the_plan_running(make_plan: MakePlan) -> None:
    plan = make_plan(records=30)
    plan.last_closed_date, plan.remaining = d(29), 5
    result = close_day(plan, DayReport(d(30), taken=2, shortfall=3), today=d(1, 7))
    assert result.forfeited == 0 and result.delivery_days_added == 1
    assert plan.status == PlanStatus.ACTIVE
    assert plan.end_date == d(1, 7)
    assert plan.quota_for(d(1, 7)) == 3


def test_completed_plan_ignores_further_closes(make_plan: MakePlan) -> None:
    plan = make_plan(records=30)
    plan.last_closed_date, plan.remaining = d(29), 1
    close_day(plan, DayReport(d(30), taken=1), today=d(1, 7))
    result = close_day(plan, DayReport(d(1, 7), taken=0), today=d(2, 7))
    assert result.skipped and result.completed
    assert plan.last_closed_date == d(30)


def test_closing_a_closed_day_again_is_a_no_op(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    close_day(plan, DayReport(d(1), taken=4), today=d(2))
    before = plan.to_dict()
    result = close_day(plan, DayReport(d(1), taken=0), today=d(5))
    assert result.skipped and result.forfeited == 0
    assert plan.to_dict() == before


def test_days_must_be_closed_in_order(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    with pytest.raises(Conflict) as caught:
        close_day(plan, DayReport(d(2), taken=10), today=d(3))
    assert caught.value.code == "day_close_out_of_order"
    assert plan.last_closed_date is None


@pytest.mark.parametrize("today", [d(1), d(31, 5)])
def test_a_day_is_closed_only_once_over(make_plan: MakePlan, today: date) -> None:
    plan = make_plan(records=300)
    with pytest.raises(Conflict) as caught:
        close_day(plan, DayReport(d(1), taken=1), today=today)
    assert caught.value.code == "day_close_not_over"


def test_catch_up_closes_missed_days_in_date_order(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    reports = [DayReport(d(3), taken=10), DayReport(d(1), taken=10), DayReport(d(2), taken=0)]
    results = close_days(plan, [*reports, DayReport(d(1), taken=99)], today=d(4))
    assert [r.day for r in results] == [d(1), d(1), d(2), d(3)]
    assert [r.skipped for r in results] == [False, True, False, False]
    assert [r.forfeited for r in results] == [0, 0, 10, 0]
    assert plan.remaining == 270 and plan.last_closed_date == d(3)
    assert plan.next_day_to_close == d(4)  # nothing left to close before the 4th


def test_catch_up_with_a_gap_changes_nothing(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    before = plan.to_dict()
    with pytest.raises(Conflict) as caught:
        close_days(plan, [DayReport(d(1), taken=10), DayReport(d(3), taken=10)], today=d(4))
    assert caught.value.code == "day_close_out_of_order"
    assert plan.to_dict() == before


def test_catch_up_refuses_today(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    with pytest.raises(Conflict) as caught:
        close_days(plan, [DayReport(d(1)), DayReport(d(2))], today=d(2))
    assert caught.value.code == "day_close_not_over"
    assert plan.last_closed_date is None


@pytest.mark.parametrize(
    ("taken", "shortfall", "fields"),
    [(-1, 0, {"taken"}), (0, -2, {"shortfall"}), (1.5, True, {"taken", "shortfall"})],
)
def test_report_counts_must_be_non_negative_integers(
    make_plan: MakePlan, taken: Any, shortfall: Any, fields: set[str]
) -> None:
    plan = make_plan(records=300)
    for close in (
        lambda: close_day(plan, DayReport(d(1), taken=taken, shortfall=shortfall), today=d(2)),
        lambda: close_days(plan, [DayReport(d(1), taken=taken, shortfall=shortfall)], today=d(2)),
    ):
        with pytest.raises(Invalid) as caught:
            close()
        assert caught.value.code == "day_report_invalid"
        assert set(caught.value.fields or {}) == fields


def test_taken_cannot_exceed_remaining(make_plan: MakePlan) -> None:
    plan = make_plan(records=30)
    with pytest.raises(Invalid) as caught:
        close_day(plan, DayReport(d(1), taken=31), today=d(2))
    assert caught.value.code == "day_report_taken_exceeds_remaining"


@pytest.mark.parametrize("status", [PlanStatus.PENDING_PAYMENT, PlanStatus.CANCELLED])
def test_inactive_plans_are_skipped(make_plan: MakePlan, status: PlanStatus) -> None:
    plan = make_plan(records=300)
    plan.status = status
    result = close_day(plan, DayReport(d(1), taken=0), today=d(2))
    assert result.skipped and plan.remaining == 300 and plan.last_closed_date is None


def test_open_day_before_an_extension_counts_takes_without_forfeit(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    close_days(plan, [DayReport(d(day), taken=10) for day in range(1, 10)], today=d(11))
    plan.apply_extension(quote_extension(30, plan.tier, DEFAULT_PRICE_TABLE, 0), d(11))
    assert plan.next_day_to_close == d(10)
    result = close_day(plan, DayReport(d(10), taken=4), today=d(11))
    assert (result.quota_due, result.forfeited, plan.remaining) == (0, 0, 236)
