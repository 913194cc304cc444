from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from plans.domain.absences import (
    PlannedAbsence,
    apply_planned_absence,
    latest_request_day,
)
from plans.domain.day_close import DayReport, close_days
from plans.domain.plan import Plan, PlanStatus
from plans.domain.rules import PlanRules
from plans.testing import d, request_absence
from suivi_common.errors import Conflict, Invalid

MakePlan = Callable[..., Plan]


def absence(start: date, end: date, user_id: str = "u1") -> PlannedAbsence:
    return PlannedAbsence(f"a-{start}", user_id, start, end, requested_on=d(1, 1))


@pytest.mark.parametrize(
    ("first_day", "asked_on", "allowed"),
    [
        (d(8), d(5), True),  # Monday absence asked the Friday before
        (d(8), d(4), True),
        (d(8), d(6), False),  # asked on Saturday: too late
        (d(8), d(7), False),  # asked on Sunday
        (d(9), d(8), True),  # Tuesday absence asked on Monday
        (d(12, 11), d(10, 11), True),  # Thursday after the 11 Nov holiday: by Tuesday
        (d(12, 11), d(11, 11), False),  # asked on the holiday itself
        (d(26, 5), d(22, 5), True),  # Tuesday after Whit Monday: by Friday
        (d(26, 5), d(23, 5), False),
        (d(26, 5), d(25, 5), False),
    ],
)
def test_notice_of_one_business_day(
    make_plan: MakePlan, first_day: date, asked_on: date, allowed: bool
) -> None:
    plan = make_plan(start=asked_on)
    assert (asked_on <= latest_request_day(first_day)) is allowed
    if allowed:
        created = request_absence(first_day, first_day, asked_on, [plan])
        assert created.requested_on == asked_on
        assert first_day in plan.blocked_dates
    else:
        with pytest.raises(Conflict) as caught:
            request_absence(first_day, first_day, asked_on, [plan])
        assert caught.value.code == "absence_notice_too_late"
        assert plan.blocked_dates == set()


@pytest.mark.parametrize("first_day", [d(5), d(4)])
def test_absence_must_start_after_today(make_plan: MakePlan, first_day: date) -> None:
    with pytest.raises(Invalid) as caught:
        request_absence(first_day, d(10), d(5), [make_plan()])
    assert caught.value.code == "absence_start_not_in_future"
    assert set(caught.value.fields or {}) == {"start_date"}


def test_start_after_end_is_invalid_on_both_fields(make_plan: MakePlan) -> None:
    with pytest.raises(Invalid) as caught:
        request_absence(d(10), d(9), d(2), [make_plan()])
    assert caught.value.code == "absence_dates_order"
    assert set(caught.value.fields or {}) == {"start_date", "end_date"}


@pytest.mark.parametrize(
    ("end", "rules", "allowed"),
    [
        (d(7, 7), None, True),  # 30 days, the default maximum
        (d(8, 7), None, False),  # 31 days
        (d(12), PlanRules(absence_max_days=5), True),
        (d(13), PlanRules(absence_max_days=5), False),
    ],
)
def test_maximum_length(make_plan: MakePlan, end: date, rules: PlanRules | None, allowed: bool) -> None:
    plan = make_plan()
    if allowed:
        request_absence(d(8), end, d(2), [plan], rules=rules)
    else:
        with pytest.raises(Invalid) as caught:
            request_absence(d(8), end, d(2), [plan], rules=rules)
        assert caught.value.code == "absence_too_long"
        assert set(caught.value.fields or {}) == {"end_date"}


@pytest.mark.parametrize(
    ("previous", "first_day", "allowed"),
    [
        ([absence(d(15), d(16))], d(29), False),  # same quarter (Q2)
        ([absence(d(15), d(16))], d(6, 7), True),  # next quarter (Q3)
        ([absence(d(30, 3), d(3, 4))], d(29), True),  # counted in Q1, its first day's quarter
        ([absence(d(15), d(16), user_id="u2")], d(29), True),  # another user's absence
        ([absence(d(15, 6, 2025), d(16, 6, 2025))], d(29), True),  # Q2 of another year
    ],
)
def test_one_planned_absence_per_quarter(
    make_plan: MakePlan, previous: list[PlannedAbsence], first_day: date, allowed: bool
) -> None:
    plan = make_plan()
    if allowed:
        request_absence(first_day, first_day, d(20), [plan], previous)
    else:
        with pytest.raises(Conflict) as caught:
            request_absence(first_day, first_day, d(20), [plan], previous)
        assert caught.value.code == "absence_quarterly_limit"


def test_straddling_absence_counts_in_its_first_quarter() -> None:
    assert absence(d(30, 3), d(3, 4)).quarter == (2026, 1)


def test_needs_an_active_plan(make_plan: MakePlan) -> None:
    pending = make_plan(start=None)
    others = make_plan(user_id="u2", plan_id="p2")
    with pytest.raises(Conflict) as caught:
        request_absence(d(10), d(12), d(2), [pending, others])
    assert caught.value.code == "absence_no_active_plan"
    assert others.blocked_dates == set()


def test_applies_to_every_active_plan_of_the_user(make_plan: MakePlan) -> None:
    first = make_plan(plan_id="p1")
    second = make_plan(plan_id="p2", start=d(3), tier="premium")
    completed = make_plan(plan_id="p3")
    completed.status = PlanStatus.COMPLETED
    someone_else = make_plan(plan_id="p4", user_id="u2")
    created = request_absence(d(10), d(12), d(2), [first, second, completed, someone_else])
    assert (created.user_id, created.start_date, created.end_date) == ("u1", d(10), d(12))
    assert created.days == [d(10), d(11), d(12)]
    assert first.end_date == d(3, 7)
    assert second.end_date == d(5, 7)
    assert completed.blocked_dates == set() and someone_else.blocked_dates == set()


def test_absence_reaching_past_the_end_is_skipped_entirely(make_plan: MakePlan) -> None:
    plan = make_plan()  # ends 30 June
    request_absence(d(29), d(3, 7), d(20), [plan])
    # 29-30 June are inside; the end moves onto 1-3 July, absent too, so it lands on 5 July.
    assert plan.end_date == d(5, 7)
    assert plan.remaining_delivery_days(d(29)) == 2


def test_no_quota_on_absent_days_and_the_daily_quota_is_unchanged(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    before = plan.quota_for(d(20))
    request_absence(d(29), d(3, 7), d(20), [plan])
    assert plan.quota_for(d(20)) == before == 28  # ceil(300 / 11): still 11 delivery days
    assert plan.quota_for(d(29)) == plan.quota_for(d(2, 7)) == 0


def test_nothing_is_forfeited_on_absent_days(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    request_absence(d(3), d(4), d(1), [plan])
    results = close_days(plan, [DayReport(d(day), taken=0) for day in range(1, 6)], today=d(6))
    assert [r.forfeited for r in results] == [10, 10, 0, 0, 10]


def test_applying_later_to_a_newly_activated_plan(make_plan: MakePlan) -> None:
    accepted = absence(d(10), d(12))
    plan = make_plan(start=d(9))
    assert apply_planned_absence(accepted, [plan, make_plan(user_id="u2")]) == ["p1"]
    assert plan.end_date == d(11, 7)


def test_round_trip() -> None:
    original = absence(d(10), d(12))
    plain = original.to_dict()
    assert plain["start_date"] == "2026-06-10"
    assert PlannedAbsence.from_dict(plain) == original
