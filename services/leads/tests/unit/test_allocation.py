"""Fair share of scarce leads: proportional to quota, capped, carried, deterministic."""

import random
from fractions import Fraction
from typing import Any

import pytest

from leads.domain.allocation import CARRY_LIMIT, PlanNeed, allocate, fair_shares


def needs_of(*pairs: tuple[int, int]) -> dict[str, PlanNeed]:
    """needs_of((quota, remaining), ...) keyed "p1", "p2", ..."""
    return {f"p{i}": PlanNeed(q, r) for i, (q, r) in enumerate(pairs, start=1)}


def test_required_case_quotas_10_20_30_and_30_leads_give_5_10_15() -> None:
    result = allocate(30, {"a": PlanNeed(10, 10), "b": PlanNeed(20, 20), "c": PlanNeed(30, 30)}, {})
    assert result.counts == {"a": 5, "b": 10, "c": 15}
    assert result.carry == {"a": 0.0, "b": 0.0, "c": 0.0}


def test_shortage_is_not_first_come_first_served() -> None:
    # Whatever the insertion order, the split is the same.
    forward = {"a": PlanNeed(10, 10), "b": PlanNeed(20, 20), "c": PlanNeed(30, 30)}
    backward = dict(reversed(list(forward.items())))
    assert allocate(30, forward).counts == allocate(30, backward).counts


@pytest.mark.parametrize(
    ("available", "needs", "expected"),
    [
        (60, ((10, 10), (20, 20), (30, 30)), [10, 20, 30]),
        (100, ((10, 10), (20, 20), (30, 30)), [10, 20, 30]),
        (100, ((10, 3), (20, 0), (30, 7)), [3, 0, 7]),
        (0, ((10, 10), (20, 20)), [0, 0]),
        (5, (), []),
    ],
)
def test_enough_stock_gives_everyone_their_remaining_need(available: int, needs: tuple[Any, ...],
                                                          expected: list[Any]) -> None:
    result = allocate(available, needs_of(*needs))
    assert list(result.counts.values()) == expected


def test_enough_stock_leaves_carries_untouched() -> None:
    result = allocate(100, needs_of((10, 10), (20, 20)), {"p1": 0.5, "p2": -0.5})
    assert result.counts == {"p1": 10, "p2": 20}
    assert result.carry == {"p1": 0.5, "p2": -0.5}


def test_capped_plans_leftover_is_redistributed_water_filling() -> None:
    # p1 only needs 2 of its proportional 5: the 3 spare leads go to p2/p3 by quota.
    result = allocate(30, needs_of((10, 2), (20, 20), (30, 30)))
    assert result.counts == {"p1": 2, "p2": 11, "p3": 17}
    shares = fair_shares(30, needs_of((10, 2), (20, 20), (30, 30)))
    assert shares == {"p1": 2, "p2": Fraction(56, 5), "p3": Fraction(84, 5)}


def test_water_filling_cascades_over_several_caps() -> None:
    # p1 capped at 1, then p2 capped at 4: the rest goes to p3.
    shares = fair_shares(20, needs_of((10, 1), (10, 4), (10, 100)))
    assert shares == {"p1": 1, "p2": 4, "p3": 15}
    assert allocate(20, needs_of((10, 1), (10, 4), (10, 100))).counts == {"p1": 1, "p2": 4, "p3": 15}


def test_plan_with_no_remaining_need_gets_nothing_and_keeps_its_carry() -> None:
    result = allocate(3, needs_of((10, 0), (10, 10), (10, 10)), {"p1": 0.4})
    assert result.counts == {"p1": 0, "p2": 2, "p3": 1}
    assert result.carry["p1"] == pytest.approx(0.4)


def test_three_equal_plans_one_lead_per_run_each_get_one_over_three_runs() -> None:
    needs = needs_of((1, 1), (1, 1), (1, 1))
    carry: dict = {}
    totals = dict.fromkeys(needs, 0)
    for _ in range(3):
        result = allocate(1, needs, carry)
        assert sum(result.counts.values()) == 1
        for pid, n in result.counts.items():
            totals[pid] += n
        carry = result.carry
    assert totals == {"p1": 1, "p2": 1, "p3": 1}
    assert sum(carry.values()) == pytest.approx(0.0)


def test_same_day_runs_with_shrinking_needs_also_serve_everyone_once() -> None:
    remaining = {"p1": 1, "p2": 1, "p3": 1}
    carry: dict = {}
    for _ in range(3):
        result = allocate(1, {pid: PlanNeed(1, r) for pid, r in remaining.items()}, carry)
        carry = result.carry
        for pid, n in result.counts.items():
            remaining[pid] -= n
    assert remaining == {"p1": 0, "p2": 0, "p3": 0}


def test_carry_moves_fractions_between_runs() -> None:
    first = allocate(1, needs_of((1, 1), (1, 1), (1, 1)))
    assert first.counts == {"p1": 1, "p2": 0, "p3": 0}  # tie broken by plan id
    assert first.carry == pytest.approx({"p1": -2 / 3, "p2": 1 / 3, "p3": 1 / 3})
    second = allocate(1, needs_of((1, 1), (1, 1), (1, 1)), first.carry)
    assert second.counts == {"p1": 0, "p2": 1, "p3": 0}


def test_positive_carry_takes_priority_over_a_larger_quota_share() -> None:
    # p1's fair share is 0.4 + carry 0.9 = 1.3 > p2's 0.6.
    result = allocate(1, needs_of((2, 5), (3, 5)), {"p1": 0.9, "p2": -0.9})
    assert result.counts == {"p1": 1, "p2": 0}


def test_plans_missing_from_needs_are_dropped_from_carry() -> None:
    result = allocate(1, needs_of((1, 1)), {"p1": 0.2, "ended": 0.7})
    assert set(result.carry) == {"p1"}


def test_carry_is_clamped() -> None:
    result = allocate(1, needs_of((1, 1), (1, 1)), {"p1": 50.0, "p2": -50.0})
    assert all(abs(c) <= CARRY_LIMIT for c in result.carry.values())
    assert result.counts == {"p1": 1, "p2": 0}


def test_allocation_does_not_depend_on_the_order_plans_are_listed_in() -> None:
    needs = needs_of((3, 3), (5, 5), (7, 7), (2, 2))
    carry = {"p1": 0.25, "p3": -0.5}
    reversed_needs = dict(reversed(list(needs.items())))
    forward, backward = allocate(9, needs, carry), allocate(9, reversed_needs, carry)
    assert forward.counts == backward.counts and forward.carry == backward.carry
    assert sum(forward.counts.values()) == 9


def test_integer_plan_ids_are_supported_and_ordered() -> None:
    result = allocate(1, {10: PlanNeed(1, 1), 9: PlanNeed(1, 1)})
    assert result.counts == {9: 1, 10: 0}


@pytest.mark.parametrize(
    ("quota", "remaining"),
    [(-1, 0), (0, -1), (0, 3)],
)
def test_plan_need_validation(quota: int, remaining: int) -> None:
    with pytest.raises(ValueError):
        PlanNeed(quota, remaining)


def test_negative_stock_is_refused() -> None:
    with pytest.raises(ValueError):
        allocate(-1, needs_of((1, 1)))


# --- property-style checks (fixed seeds, reproducible) ----------------------------


def random_needs(rng: random.Random) -> dict[str, PlanNeed]:
    needs = {}
    for i in range(rng.randint(1, 8)):
        quota = rng.randint(1, 40)
        needs[f"plan-{i}"] = PlanNeed(quota, rng.randint(0, quota))
    return needs


@pytest.mark.parametrize("seed", range(40))
def test_invariants_on_random_inputs(seed: int) -> None:
    rng = random.Random(seed)
    needs = random_needs(rng)
    available = rng.randint(0, 150)
    carry = {pid: rng.uniform(-1, 1) for pid in needs if rng.random() < 0.5}
    result = allocate(available, needs, carry)
    total_need = sum(n.remaining_today for n in needs.values())

    assert set(result.counts) == set(needs)
    assert all(0 <= result.counts[p] <= needs[p].remaining_today for p in needs)
    assert sum(result.counts.values()) == min(available, total_need)
    assert all(abs(c) <= CARRY_LIMIT for c in result.carry.values())


@pytest.mark.parametrize("seed", range(40))
def test_without_carry_each_plan_is_within_one_lead_of_its_fair_share(seed: int) -> None:
    rng = random.Random(1000 + seed)
    needs = random_needs(rng)
    available = rng.randint(0, 150)
    shares = fair_shares(available, needs)
    result = allocate(available, needs)
    for pid in needs:
        assert abs(result.counts[pid] - shares[pid]) < 1


@pytest.mark.parametrize("seed", range(20))
def test_repeated_small_runs_converge_to_proportional_totals(seed: int) -> None:
    rng = random.Random(2000 + seed)
    quotas = {f"plan-{i}": rng.randint(1, 30) for i in range(rng.randint(2, 6))}
    carry: dict = {}
    totals = dict.fromkeys(quotas, 0)
    owed = dict.fromkeys(quotas, Fraction(0))
    for _ in range(200):
        # Constant need (never capped): the fair total is stock * quota / sum(quotas).
        needs = {pid: PlanNeed(q, 1000) for pid, q in quotas.items()}
        available = rng.randint(0, 3)
        result = allocate(available, needs, carry)
        carry = result.carry
        for pid, share in fair_shares(available, needs).items():
            owed[pid] += share
            totals[pid] += result.counts[pid]
    for pid in quotas:
        assert abs(totals[pid] - owed[pid]) <= 1


def test_a_small_plan_is_never_starved_by_big_ones() -> None:
    needs = {"small": PlanNeed(1, 1000), "big-1": PlanNeed(50, 1000), "big-2": PlanNeed(49, 1000)}
    carry: dict = {}
    small_total = 0
    for _ in range(100):  # 100 runs of one lead: the small plan is owed exactly 1
        result = allocate(1, needs, carry)
        carry = result.carry
        small_total += result.counts["small"]
    assert small_total == 1


# --- the bulk hand-out changes nothing ------------------------------------------------


def one_by_one(available: int, needs: dict[str, PlanNeed],
               carry: dict[str, float]) -> dict[str, int]:
    """The reference hand-out: every lead to the plan with the largest unmet entitlement."""
    import heapq

    from leads.domain.allocation import _clamp

    shares = fair_shares(available, needs)
    order = sorted(needs)
    entitled = {p: shares[p] + _clamp(Fraction(carry.get(p, 0.0))) for p in order}
    counts = dict.fromkeys(order, 0)
    heap = [(-round(float(entitled[p]), 9), i, p) for i, p in enumerate(order)
            if needs[p].remaining_today > 0]
    heapq.heapify(heap)
    for _ in range(available):
        _, i, p = heapq.heappop(heap)
        counts[p] += 1
        if counts[p] < needs[p].remaining_today:
            heapq.heappush(heap, (-round(float(entitled[p] - counts[p]), 9), i, p))
    return counts


@pytest.mark.parametrize("seed", range(60))
def test_bulk_hand_out_equals_the_one_by_one_reference(seed: int) -> None:
    rng = random.Random(3000 + seed)
    needs = {f"plan-{i:03d}": PlanNeed(q, rng.randint(0, q)) for i in range(rng.randint(1, 60))
             for q in [rng.randint(1, 40)]}
    total = sum(n.remaining_today for n in needs.values())
    available = rng.randint(0, max(0, total - 1))  # a shortage: the hand-out path
    carry = {pid: rng.choice([-1.0, 1.0, rng.uniform(-1, 1)]) for pid in needs
             if rng.random() < 0.7}
    assert allocate(available, needs, carry).counts == one_by_one(available, needs, carry)


def test_large_shortage_run_gives_out_exactly_the_stock() -> None:
    """5,000 plans short of stock share exactly what there is (its speed is measured by
    ``make bench``'s distribution figure, never asserted here)."""
    needs = {f"plan-{i:04d}": PlanNeed(q, q) for i in range(5000) for q in [16 + i % 17]}
    result = allocate(100_000, needs)
    assert sum(result.counts.values()) == 100_000
    assert all(0 <= result.counts.get(pid, 0) <= need.remaining_today
               for pid, need in needs.items())
