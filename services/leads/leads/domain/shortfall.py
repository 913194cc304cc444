"""The day-close shortfall rule: what a plan's untaken quota is, owed or forfeited.

Terms art. 8.B make a shortage of stock the platform's doing, so the leads that the
stock could not have served stay owed (shortfall), whether or not the user asked for
them; art. 3.B.iii makes the rest of an untaken quota lost (forfeit). Plans applies
``forfeit = quota - taken - shortfall`` when it receives the day's report.

The rule, for one country x tier group G and one Paris calendar day D = [D0, D1):

1. A lead of G is *on sale* at instant t when it was accepted into G's stock at or
   before t, is still fresh at t (``captured_at >= t - FRESHNESS_DAYS``, the boundary
   being fresh), was not withdrawn before t and was not sold before t.
2. The *leftover* L of G on D is the number of leads of G that were on sale at some
   instant of D and were not sold on D or on an earlier day (the day of a sale is the
   business day the seller counted it in, ``deliveries.day``). These are the leads
   that a plan of G could have taken on D and nobody did. They include: leads still in
   stock at the close; leads present at D0 that went stale (or were withdrawn) during
   D; leads captured during D, however late in the evening (auto-delivery serves them
   at once, and a user may take until midnight); leads sold on a later day, such as the
   sales of D+1 that happen before the close of D runs. They exclude leads captured
   from D1 on (the close may run after midnight while new stock arrives), leads stale
   or withdrawn before D0, and every lead sold on D, whoever bought it: a lead sold on
   D served a plan's taken quota and cannot also serve another plan's untaken one.
3. The plans of G on D are those whose entitlement (the snapshot leads holds when the
   day is settled) names G and has a quota on D, or that have day totals on D. For
   each: q = its quota on D in that snapshot, t = leads taken on D, r = the shortfall
   recorded when a take or an auto-delivery run asked the stock and got less
   (``daybook.shortfall_after``).
   Untaken ``u = max(0, q - t)``; recorded ``r' = min(r, u)`` (kept as it is: the
   user asked and the stock was empty at that moment, whatever came later); open
   ``o = u - r'``, the untaken quota nobody has called missing yet.
4. The *missing* stock is ``M = max(0, sum(o) - L)``: the leftover is deemed to serve
   open quotas first (any unsold lead could have served any plan of the group that
   left quota open), and what it cannot cover was not there to be taken.
5. M is shared among the plans in proportion to their open quotas, by largest
   remainder: each plan gets ``floor(M * o / sum(o))``, then the units still to give
   go one each to the largest remainders ``(M * o) mod sum(o)``; ties go to the larger
   open quota, then to the smaller plan id. Shares are whole leads, never exceed a
   plan's open quota (``M <= sum(o)``) and add up to exactly M.
6. The plan's shortfall for D is ``r' + share``; its forfeit is ``u - r' - share``.
   So ``taken + shortfall <= quota`` always, and a plan whose group had enough
   unsold stock forfeits what it did not take.

Examples. No stock of G at all on D and nobody asked: L = 0, every open quota is
shortfall. One plan takes everything in the morning and the stock runs dry, another
never takes: L = 0, the second plan's untaken quota is shortfall. Stock left at the
close covers the open quotas: M = 0, they are forfeited. Two plans with open quotas
10 and 6 and 8 unsold leads: M = 8, shares 5 and 3.

7. A plan whose entitlement reaches leads only after D was settled (its activation was
   still on its way when the day closed) was unknown on D: it could be neither taken
   from nor served, so its whole untaken quota is shortfall (``late_shortfall``). And a
   plan leads does not hold at all is not closed: plans asks again once it arrives,
   rather than leads freezing a day it knows nothing of as all forfeit.

Every group is settled at once, the first time any plan's books for D are closed
(``usecases.daybook.settle_day``), so plans closed in different calls, or by different
instances, get shares computed from the same facts. A lead counts once it is stored: a
capture still uncommitted when the day is settled is not seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PlanDay:
    """One plan's facts of the day, as the close reads them."""

    plan_id: str
    quota: int
    taken: int
    recorded: int
    """Shortfall recorded at take/auto-delivery time (0 if the stock never fell short)."""

    @property
    def untaken(self) -> int:
        return max(0, self.quota - self.taken)

    @property
    def kept(self) -> int:
        """The recorded shortfall that still fits in the untaken quota."""
        return min(max(0, self.recorded), self.untaken)

    @property
    def open(self) -> int:
        return self.untaken - self.kept


@dataclass(frozen=True)
class GroupSettlement:
    open_quota: int
    leftover: int
    missing: int
    shares: dict[str, int]
    """Each plan's part of the missing stock (every plan listed, 0 included)."""
    shortfall: dict[str, int]
    """Each plan's shortfall for the day: recorded (capped) + share."""


def missing_stock(open_quota: int, leftover: int) -> int:
    if open_quota < 0 or leftover < 0:
        raise ValueError("open quota and leftover must be >= 0")
    return max(0, open_quota - leftover)


def largest_remainder(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split ``total`` whole units in proportion to ``weights`` (Hamilton's method).

    ``total`` must not exceed the sum of the weights, so no part exceeds its weight.
    Ties between equal remainders go to the larger weight, then to the smaller key, so
    the split depends on nothing but its inputs.
    """
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights must be >= 0")
    whole = sum(weights.values())
    if total < 0 or total > whole:
        raise ValueError("total must be between 0 and the sum of the weights")
    if total == 0:
        return {key: 0 for key in weights}
    parts = {key: total * w // whole for key, w in weights.items()}
    left = total - sum(parts.values())
    order = sorted(weights, key=lambda key: (-(total * weights[key] % whole), -weights[key], key))
    for key in order[:left]:
        parts[key] += 1
    return parts


def settle_group(plans: Sequence[PlanDay], leftover: int) -> GroupSettlement:
    """Apply the rule (module docstring) to one group's plans and unsold stock of a day."""
    ids = [p.plan_id for p in plans]
    if len(set(ids)) != len(ids):
        raise ValueError("a plan appears twice")
    for p in plans:
        if min(p.quota, p.taken, p.recorded) < 0:
            raise ValueError(f"negative day facts for plan {p.plan_id}")
    opens = {p.plan_id: p.open for p in plans}
    open_quota = sum(opens.values())
    missing = missing_stock(open_quota, leftover)
    shares = largest_remainder(missing, opens)
    return GroupSettlement(
        open_quota=open_quota, leftover=leftover, missing=missing, shares=shares,
        shortfall={p.plan_id: p.kept + shares[p.plan_id] for p in plans})


def late_shortfall(plan: PlanDay) -> int:
    """Point 7: the shortfall of a plan that the day's settlement did not know."""
    return plan.untaken
