from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from plans.domain.closures import SalesClosure, apply_sales_closure, declare_sales_closure
from plans.domain.day_close import DayReport, close_days
from plans.domain.plan import Plan, PlanStatus
from plans.domain.pricing import Tier
from plans.testing import d, request_absence
from suivi_common.errors import Invalid

MakePlan = Callable[..., Plan]


def closure(start: date, end: date, today: date = d(1), **kwargs: Any) -> SalesClosure:
    return declare_sales_closure(closure_id="c1", start_date=start, end_date=end, today=today, **kwargs)


def test_declaration_normalises_filters() -> None:
    result = closure(d(10), d(12), countries=["fr", "BE"], tiers=["premium"], reason=" low stock ")
    assert result.countries == frozenset({"FR", "BE"})
    assert result.tiers == frozenset({Tier.PREMIUM})
    assert result.reason == "low stock"
    assert result.days == [d(10), d(11), d(12)]


@pytest.mark.parametrize(
    ("start", "end", "kwargs", "code", "fields"),
    [
        (d(12), d(10), {}, "closure_dates_order", {"start_date", "end_date"}),
        (d(4), d(10), {}, "closure_starts_in_past", {"start_date"}),
        (d(10), d(12), {"countries": ["FRA"]}, "country_invalid", {"countries"}),
        (d(10), d(12), {"tiers": ["gold"]}, "tier_unknown", {"tiers"}),
    ],
)
def test_invalid_declarations(
    start: date, end: date, kwargs: dict[str, Any], code: str, fields: set[str]
) -> None:
    with pytest.raises(Invalid) as caught:
        closure(start, end, today=d(5), **kwargs)
    assert caught.value.code == code
    assert set(caught.value.fields or {}) == fields


def test_today_can_be_closed() -> None:
    assert closure(d(5), d(5), today=d(5)).days == [d(5)]


@pytest.mark.parametrize(
    ("countries", "tiers", "country", "tier", "applies"),
    [
        ((), (), "FR", "standard", True),
        (("FR",), (), "FR", "premium", True),
        (("FR",), (), "BE", "standard", False),
        ((), ("premium",), "BE", "premium", True),
        ((), ("premium",), "BE", "standard", False),
        (("FR",), ("premium", "premium_plus"), "FR", "premium_plus", True),
        (("FR",), ("premium", "premium_plus"), "BE", "premium_plus", False),
    ],
)
def test_applies_to(
    make_plan: MakePlan,
    countries: tuple[str, ...],
    tiers: tuple[str, ...],
    country: str,
    tier: str,
    applies: bool,
) -> None:
    result = closure(d(10), d(12), countries=countries, tiers=tiers)
    assert result.applies_to(make_plan(country=country, tier=tier)) is applies


def test_concerned_active_plans_are_lengthened_by_the_closed_days(make_plan: MakePlan) -> None:
    fr = make_plan(plan_id="fr")
    fr_premium = make_plan(plan_id="fr-premium", tier="premium")
    be = make_plan(plan_id="be", country="BE")
    pending = make_plan(plan_id="pending", start=None)
    completed = make_plan(plan_id="done")
    completed.status = PlanStatus.COMPLETED
    plans = [fr, fr_premium, be, pending, completed]
    touched = apply_sales_closure(closure(d(10), d(12), countries=["FR"]), plans)
    assert touched == ["fr", "fr-premium"]
    assert fr.end_date == fr_premium.end_date == d(3, 7)
    assert be.end_date == d(30)
    assert pending.blocked_dates == completed.blocked_dates == set()


def test_nothing_due_nor_forfeited_on_closed_days(make_plan: MakePlan) -> None:
    plan = make_plan(records=300)
    apply_sales_closure(closure(d(2), d(3)), [plan])
    assert plan.quota_for(d(2)) == 0
    results = close_days(plan, [DayReport(d(day), taken=0) for day in (1, 2, 3, 4)], today=d(5))
    assert [r.forfeited for r in results] == [10, 0, 0, 10]
    assert plan.remaining_delivery_days(d(5)) == 28  # 2 of 30 delivery days used


def test_closure_over_an_absence_does_not_count_twice(make_plan: MakePlan) -> None:
    plan = make_plan()
    request_absence(d(10), d(12), d(2), [plan])
    assert plan.end_date == d(3, 7)
    apply_sales_closure(closure(d(11), d(14)), [plan])
    assert plan.end_date == d(5, 7)  # 10..14 June: 5 blocked days, not 3 + 4


def test_applying_the_same_closure_twice_is_harmless(make_plan: MakePlan) -> None:
    plan = make_plan()
    closed = closure(d(10), d(12))
    apply_sales_closure(closed, [plan])
    apply_sales_closure(closed, [plan])
    assert plan.end_date == d(3, 7)


def test_round_trip() -> None:
    original = closure(d(10), d(12), countries=["FR"], tiers=["standard", "premium"], reason="stock")
    plain = original.to_dict()
    assert plain["countries"] == ["FR"] and plain["tiers"] == ["premium", "standard"]
    assert SalesClosure.from_dict(plain) == original


def test_sales_reopen_after_the_closed_stretch() -> None:
    from plans.domain.closures import reopening_date

    fr = closure(d(10), d(12), countries=["FR"])
    assert reopening_date([fr], "FR", Tier.STANDARD, d(9)) is None  # not closed yet
    assert reopening_date([fr], "FR", Tier.STANDARD, d(10)) == d(13)
    assert reopening_date([fr], "FR", Tier.STANDARD, d(12)) == d(13)
    assert reopening_date([fr], "BE", Tier.STANDARD, d(11)) is None  # another country
    assert reopening_date([fr], "FR", Tier.STANDARD, d(13)) is None
    # closures that meet or overlap are one stretch, whatever order they come in
    later = closure(d(13), d(15))
    overlapping = closure(d(11), d(20), countries=["FR"], tiers=["premium"])
    assert reopening_date([later, fr], "FR", Tier.STANDARD, d(10)) == d(16)
    assert reopening_date([later, fr, overlapping], "FR", Tier.PREMIUM, d(10)) == d(21)
    assert reopening_date([overlapping], "FR", Tier.STANDARD, d(15)) is None  # other tier
