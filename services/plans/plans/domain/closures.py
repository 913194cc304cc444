"""Sales closures (terms art. 8.B): days the platform stops selling leads.

When stock cannot honour every plan, staff close sales for a period, possibly
only for some countries and tiers. Nothing is due on those days, so nothing is
forfeited, and each concerned active plan ends that many delivery days later.
Closed days are blocked dates on the plan, so a day that is both closed and an
absence is only counted once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from plans.domain.countries import parse_country
from plans.domain.paris_calendar import date_span
from plans.domain.periods import check_dates_order
from plans.domain.plan import Plan, PlanStatus
from plans.domain.pricing import Tier, parse_tier
from plans.domain.serialization import date_to_plain, required_date
from suivi_common.errors import Invalid


@dataclass(frozen=True)
class SalesClosure:
    """Closed days; an empty ``countries`` or ``tiers`` means all of them."""

    id: str
    start_date: date
    end_date: date
    countries: frozenset[str] = frozenset()
    tiers: frozenset[Tier] = frozenset()
    reason: str = ""

    @property
    def days(self) -> list[date]:
        return date_span(self.start_date, self.end_date)

    def applies_to(self, plan: Plan) -> bool:
        return self.covers(plan.country, plan.tier)

    def covers(self, country: str, tier: Tier) -> bool:
        return (not self.countries or country in self.countries) and (
            not self.tiers or tier in self.tiers
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "start_date": date_to_plain(self.start_date),
            "end_date": date_to_plain(self.end_date),
            "countries": sorted(self.countries),
            "tiers": sorted(tier.value for tier in self.tiers),
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SalesClosure:
        return cls(
            id=str(raw["id"]),
            start_date=required_date(raw["start_date"]),
            end_date=required_date(raw["end_date"]),
            countries=frozenset(raw.get("countries") or ()),
            tiers=frozenset(Tier(tier) for tier in raw.get("tiers") or ()),
            reason=str(raw.get("reason") or ""),
        )


def declare_sales_closure(
    *,
    closure_id: str,
    start_date: date,
    end_date: date,
    today: date,
    countries: Iterable[str] = (),
    tiers: Iterable[Tier | str] = (),
    reason: str = "",
) -> SalesClosure:
    """Validate a closure. Today may be closed (stock ran out this morning);
    past days may not, their deliveries and forfeits are already settled."""
    check_dates_order(start_date, end_date, code="closure_dates_order")
    if start_date < today:
        raise Invalid(
            "A sales closure cannot start in the past",
            fields={"start_date": "must be today or later"},
            code="closure_starts_in_past",
        )
    return SalesClosure(
        id=closure_id,
        start_date=start_date,
        end_date=end_date,
        countries=frozenset(parse_country(c, field="countries") for c in countries),
        tiers=frozenset(parse_tier(t, field="tiers") for t in tiers),
        reason=reason.strip(),
    )


def apply_sales_closure(closure: SalesClosure, plans: Iterable[Plan]) -> list[str]:
    """Block the closed days on every concerned active plan; returns their ids.

    Also called for a plan activated while a closure is declared ahead.
    """
    touched: list[str] = []
    for plan in plans:
        if plan.status == PlanStatus.ACTIVE and closure.applies_to(plan):
            plan.block_dates(closure.days)
            touched.append(plan.id)
    return touched


def reopening_date(closures: Iterable[SalesClosure], country: str, tier: Tier,
                   today: date) -> date | None:
    """None when sales of ``country`` x ``tier`` are open today; else the first day they
    open again (closures that meet or overlap are one closed stretch). A plan is not sold
    while its sales are closed: it would start on days that owe nothing."""
    stretches = sorted((c.start_date, c.end_date) for c in closures if c.covers(country, tier))
    if not any(start <= today <= end for start, end in stretches):
        return None
    reopens = today
    for start, end in stretches:
        if start <= reopens <= end:
            reopens = end + timedelta(days=1)
    return reopens
