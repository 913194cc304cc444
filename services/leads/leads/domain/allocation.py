"""Fair share of scarce leads between plans (automatic delivery).

When stock cannot cover every plan's remaining need, each plan gets a share
proportional to its daily quota, never first-come-first-served:

1. Water-filling computes each plan's exact fair share: every plan gets
   ``lambda * quota`` capped at its remaining need, with ``lambda`` chosen so the
   shares add up to the stock. What a capped plan cannot use flows to the others.
2. Leads are whole, so each plan's entitlement is ``fair share + carry`` (the
   fraction it was owed, or got in advance, in earlier runs) and leads are handed
   out one by one to the plan with the largest unmet entitlement.
3. ``carry = entitlement - received`` is returned, to be stored and passed to the
   next run. Over repeated small runs rounding therefore evens out (three equal
   plans, one lead per run: each gets one lead in three runs).

When stock covers all needs every plan gets exactly its remaining need and the
carries are left untouched: nobody was short, so nothing is owed.
Ties are broken by plan id, so a run is fully deterministic. Carries are kept
within [-CARRY_LIMIT, CARRY_LIMIT] so corrupted or stale inputs cannot starve a
plan for long. Plans absent from ``needs`` (ended, paused) are dropped from the
returned carry.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeVar

PlanId = TypeVar("PlanId", bound=Hashable)

CARRY_LIMIT = 1.0
_TIE_DIGITS = 9  # priorities equal to 1e-9 are ties: float carries must not decide


@dataclass(frozen=True)
class PlanNeed:
    """A plan's daily quota (its weight) and what it may still receive today (its cap)."""

    quota_today: int
    remaining_today: int

    def __post_init__(self) -> None:
        if self.quota_today < 0 or self.remaining_today < 0:
            raise ValueError("quota_today and remaining_today must be >= 0")
        if self.remaining_today > 0 and self.quota_today == 0:
            raise ValueError("a plan with a remaining need must have a positive quota")


@dataclass(frozen=True)
class Allocation:
    """Leads given to each plan this run, and the carry to pass to the next run."""

    counts: dict[Any, int]  # keyed by the caller's plan ids (any hashable)
    carry: dict[Any, float]


def _ordered(ids: list[PlanId]) -> list[PlanId]:
    try:
        return sorted(ids)  # type: ignore[type-var]  # orderable ids sort; others by repr
    except TypeError:
        return sorted(ids, key=repr)


def fair_shares(available: int, needs: Mapping[PlanId, PlanNeed]) -> dict[PlanId, Fraction]:
    """Exact water-filling shares: proportional to quota, capped at remaining need."""
    if available < 0:
        raise ValueError("available must be >= 0")
    shares: dict[PlanId, Fraction] = {pid: Fraction(0) for pid in needs}
    active = {pid: need for pid, need in needs.items() if need.remaining_today > 0}
    if sum(n.remaining_today for n in active.values()) <= available:
        for pid, need in active.items():
            shares[pid] = Fraction(need.remaining_today)
        return shares
    stock = Fraction(available)
    while active:
        level = stock / sum(n.quota_today for n in active.values())
        capped = {pid: n for pid, n in active.items() if n.remaining_today <= level * n.quota_today}
        if not capped:
            for pid, need in active.items():
                shares[pid] = level * need.quota_today
            break
        for pid, need in capped.items():
            shares[pid] = Fraction(need.remaining_today)
            stock -= need.remaining_today
            del active[pid]
    return shares


def allocate(
    available: int,
    needs: Mapping[PlanId, PlanNeed],
    carry: Mapping[PlanId, float] | None = None,
) -> Allocation:
    """Split `available` leads between plans; see the module docstring for the rule."""
    carry = carry or {}
    shares = fair_shares(available, needs)
    order = _ordered(list(needs))
    total_need = sum(n.remaining_today for n in needs.values())

    if total_need <= available:
        counts = {pid: needs[pid].remaining_today for pid in order}
        kept = {pid: _clamp(Fraction(carry.get(pid, 0.0))) for pid in order}
        return Allocation(counts=counts, carry={pid: float(c) for pid, c in kept.items()})

    entitled = {pid: shares[pid] + _clamp(Fraction(carry.get(pid, 0.0))) for pid in order}
    counts = _sure_leads(entitled, needs, order)
    rank = {pid: index for index, pid in enumerate(order)}
    heap = [
        (-round(float(entitled[pid] - counts[pid]), _TIE_DIGITS), rank[pid], pid)
        for pid in order
        if counts[pid] < needs[pid].remaining_today
    ]
    heapq.heapify(heap)
    for _ in range(available - sum(counts.values())):
        _, index, pid = heapq.heappop(heap)
        counts[pid] += 1
        if counts[pid] < needs[pid].remaining_today:
            unmet = entitled[pid] - counts[pid]
            heapq.heappush(heap, (-round(float(unmet), _TIE_DIGITS), index, pid))
    new_carry = {pid: float(_clamp(entitled[pid] - counts[pid])) for pid in order}
    return Allocation(counts=counts, carry=new_carry)


def _sure_leads(entitled: Mapping[PlanId, Fraction], needs: Mapping[PlanId, PlanNeed],
                order: list[PlanId]) -> dict[PlanId, int]:
    """Leads the one-by-one hand-out would certainly give, handed out in bulk.

    Hand-out step k of a plan has priority ``entitled - k``. Every step of priority >= 3
    is taken: a plan has at most ``floor(share)`` of them (its carry is at most 1), and
    the shares add up to the stock, so all of them fit. Giving them at once changes no
    result (ties only matter far below 3) and leaves the heap about 3 steps per plan
    instead of one step per lead: a run of 100,000 leads stays cheap.
    """
    return {pid: max(0, min(needs[pid].remaining_today, math.floor(entitled[pid]) - 2))
            for pid in order}


def _clamp(value: Fraction) -> Fraction:
    limit = Fraction(CARRY_LIMIT)
    return max(-limit, min(limit, value))
