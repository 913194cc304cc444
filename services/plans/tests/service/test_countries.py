"""Plans take the platform's one country rule (ISO 3166-1 alpha-2): two letters that name
no country ("ZZ") are refused with a field error before anything is stored or emitted,
even in a network that claims to have them open."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plans.models import plans, sales_closures
from plans.testing import MONDAY, STAFF
from plans.usecases import closures, ordering
from suivi_common.errors import Invalid


def count(world: Any, table: Any) -> int:
    with Session(world.engine) as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.mark.parametrize("country", ["ZZ", "zz", "XX"])
def test_an_unknown_country_is_refused_and_nothing_is_ordered(world: Any, country: str) -> None:
    world.accounts.open_countries["net-1"].append(country.upper())
    for use_case, extra in ((ordering.quote_plan, ()), (ordering.buy_plan, ("card",))):
        with pytest.raises(Invalid) as err:
            world.call(use_case, 300, "standard", country, *extra)
        assert err.value.code == "country_invalid"
        assert err.value.fields == {"country": "must be an ISO 3166-1 alpha-2 code, e.g. FR"}
    assert count(world, plans) == 0
    assert world.accounts.payments == {}
    assert world.events() == []


def test_an_unknown_country_in_a_sales_closure_changes_nothing(world: Any) -> None:
    plan_id = world.active_plan(300, "standard", "FR")
    events = len(world.events())
    end = world.plan(plan_id).plan.end_date
    with pytest.raises(Invalid) as err:
        world.call(closures.declare, (MONDAY + timedelta(days=4)).isoformat(),
                   (MONDAY + timedelta(days=5)).isoformat(), ["FR", "ZZ"], None, who=STAFF)
    assert err.value.code == "country_invalid" and set(err.value.fields or {}) == {"countries"}
    assert count(world, sales_closures) == 0
    assert world.plan(plan_id).plan.end_date == end
    assert len(world.events()) == events


def test_a_real_country_is_upper_cased(world: Any) -> None:
    assert world.call(ordering.quote_plan, 300, "standard", " be ")["country"] == "BE"
