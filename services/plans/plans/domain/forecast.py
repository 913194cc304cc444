"""Expected lead demand, to size advertising campaigns (the reason quotas exist, art. 3.B.iii).

Each active plan is simulated day by day from its first unclosed day,
assuming the user takes every quota: that is the demand the platform must be
able to serve. Blocked days (absences, closures) contribute nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import NamedTuple

from plans.domain.paris_calendar import date_span
from plans.domain.plan import Plan, PlanStatus
from plans.domain.pricing import Tier
from suivi_common.errors import Invalid


class DemandKey(NamedTuple):
    day: date
    country: str
    tier: Tier
    kind: str = "construction"  # the office kind (issue 13 §1): stock is per kind too


def plan_schedule(plan: Plan, first_day: date, last_day: date) -> dict[date, int]:
    """Quota of each day in [first_day, last_day] if the plan's quotas are all taken."""
    schedule: dict[date, int] = {}
    start = plan.next_day_to_close
    if plan.status != PlanStatus.ACTIVE or start is None:
        return schedule
    balance = plan.remaining
    for day in date_span(start, last_day):
        due = plan.quota_for(day, remaining=balance)
        balance -= due
        if day >= first_day and due:
            schedule[day] = due
    return schedule


def forecast_demand(plans: Iterable[Plan], today: date, horizon_days: int) -> dict[DemandKey, int]:
    """Records due per (day, country, tier, kind) from today for ``horizon_days`` days;
    zeros omitted."""
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise Invalid(
            "The forecast covers at least one day",
            fields={"days": "must be a positive integer"},
            code="forecast_horizon_invalid",
        )
    last_day = today + timedelta(days=horizon_days - 1)
    demand: dict[DemandKey, int] = {}
    for plan in plans:
        for day, due in plan_schedule(plan, today, last_day).items():
            key = DemandKey(day, plan.country, plan.tier, plan.kind)
            demand[key] = demand.get(key, 0) + due
    return dict(sorted(demand.items()))
