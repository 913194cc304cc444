"""The day-close shortfall rule: missing stock shared over untaken quotas (domain.shortfall)."""

import random

import pytest

from leads.domain.shortfall import (
    PlanDay,
    largest_remainder,
    missing_stock,
    settle_group,
)


def test_no_stock_at_all_makes_every_untaken_quota_shortfall() -> None:
    # the CH plan: quota 10, nobody opened it, no CH stock that day
    result = settle_group([PlanDay("ch", quota=10, taken=0, recorded=0)], leftover=0)
    assert (result.missing, result.shortfall) == (10, {"ch": 10})


def test_stock_run_dry_at_midday_is_the_other_plans_shortfall() -> None:
    # the morning plan took all 10 leads there were; the other never came
    result = settle_group([PlanDay("morning", 10, taken=10, recorded=0),
                           PlanDay("never", 6, taken=0, recorded=0)], leftover=0)
    assert result.shortfall == {"morning": 0, "never": 6}


def test_stock_left_over_at_close_means_forfeit() -> None:
    result = settle_group([PlanDay("lazy", 5, 0, 0), PlanDay("partial", 4, 2, 0)], leftover=7)
    assert result.missing == 0 and result.shortfall == {"lazy": 0, "partial": 0}


def test_partial_shortage_is_shared_in_proportion_to_untaken_quotas() -> None:
    result = settle_group([PlanDay("a", 10, 0, 0), PlanDay("b", 6, 0, 0)], leftover=8)
    assert (result.open_quota, result.missing) == (16, 8)
    assert result.shortfall == {"a": 5, "b": 3}


def test_leftover_serves_open_quota_before_anything_is_missing() -> None:
    # a: quota 10, took 4; b: quota 10, took 0; 9 unsold leads -> 16 open, 7 missing
    result = settle_group([PlanDay("a", 10, 4, 0), PlanDay("b", 10, 0, 0)], leftover=9)
    assert result.missing == 7
    assert result.shortfall == {"a": 3, "b": 4}  # 7*6/16 = 2.625, 7*10/16 = 4.375


def test_a_shortfall_recorded_at_take_time_is_kept_and_not_shared_again() -> None:
    # "asker" got 3 of 10 in the morning (7 recorded); 7 leads arrived later, unsold;
    # "lazy" never came: the 7 unsold leads could have served its 5, so it forfeits them
    result = settle_group([PlanDay("asker", 10, taken=3, recorded=7),
                           PlanDay("lazy", 5, 0, 0)], leftover=7)
    assert result.shortfall == {"asker": 7, "lazy": 0}
    # without the late stock, the lazy plan's quota was missing too
    result = settle_group([PlanDay("asker", 10, taken=3, recorded=7),
                           PlanDay("lazy", 5, 0, 0)], leftover=0)
    assert result.shortfall == {"asker": 7, "lazy": 5}


def test_recorded_shortfall_never_pushes_taken_plus_shortfall_over_the_quota() -> None:
    # the quota was lowered by a later snapshot: 3 taken of a quota now 4
    result = settle_group([PlanDay("p", quota=4, taken=3, recorded=7)], leftover=0)
    assert result.shortfall == {"p": 1}
    result = settle_group([PlanDay("over", quota=2, taken=5, recorded=0)], leftover=0)
    assert result.shortfall == {"over": 0}


def test_largest_remainder_rounds_to_whole_leads_summing_to_the_total() -> None:
    # 2 missing over three equal open quotas: 2/3 each, the two smaller ids get one
    assert largest_remainder(2, {"a": 1, "b": 1, "c": 1}) == {"a": 1, "b": 1, "c": 0}
    # exact remainders decide before weights: 7 over (3, 3, 4) -> 2.1, 2.1, 2.8
    assert largest_remainder(7, {"x": 3, "y": 3, "z": 4}) == {"x": 2, "y": 2, "z": 3}
    # equal remainders (0.5 and 1.5): the larger weight first, then the smaller id
    assert largest_remainder(2, {"a": 1, "b": 3}) == {"a": 0, "b": 2}
    assert largest_remainder(1, {"b": 2, "a": 2, "c": 4}) == {"a": 0, "b": 0, "c": 1}
    assert largest_remainder(1, {"b": 1, "a": 1}) == {"a": 1, "b": 0}
    assert largest_remainder(0, {"a": 0}) == {"a": 0}


def test_the_split_does_not_depend_on_the_order_of_plans() -> None:
    plans = [PlanDay(f"p{i}", 7, i % 3, 0) for i in range(9)]
    forward = settle_group(plans, leftover=11).shortfall
    assert settle_group(list(reversed(plans)), leftover=11).shortfall == forward


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        largest_remainder(3, {"a": 1, "b": 1})  # more than the weights can hold
    with pytest.raises(ValueError):
        largest_remainder(1, {"a": -1, "b": 3})
    with pytest.raises(ValueError):
        missing_stock(-1, 0)
    with pytest.raises(ValueError):
        settle_group([PlanDay("a", 1, 0, 0), PlanDay("a", 1, 0, 0)], 0)
    with pytest.raises(ValueError):
        settle_group([PlanDay("a", 1, -1, 0)], 0)


def test_property_shares_fit_the_open_quotas_and_add_up_to_the_missing_stock() -> None:
    """Seeded random groups: every invariant of the rule, on 5,000 cases."""
    rng = random.Random(20261201)
    for _ in range(5000):
        plans = []
        for i in range(rng.randint(1, 8)):
            quota = rng.randint(0, 40)
            taken = rng.randint(0, quota + 3)  # a lowered quota may leave taken > quota
            untaken = max(0, quota - taken)
            recorded = rng.choice([0, 0, rng.randint(0, untaken + 2)])
            plans.append(PlanDay(f"p{rng.randint(0, 10**6)}-{i}", quota, taken, recorded))
        leftover = rng.choice([0, rng.randint(0, 60), 10**6])
        result = settle_group(plans, leftover)
        opens = {p.plan_id: p.open for p in plans}
        assert result.open_quota == sum(opens.values())
        assert result.missing == max(0, sum(opens.values()) - leftover)
        assert sum(result.shares.values()) == result.missing
        for p in plans:
            share = result.shares[p.plan_id]
            assert 0 <= share <= opens[p.plan_id]
            assert p.taken + result.shortfall[p.plan_id] <= max(p.quota, p.taken)
            if p.quota >= p.taken:
                assert p.taken + result.shortfall[p.plan_id] <= p.quota
            assert result.shortfall[p.plan_id] >= min(p.recorded, max(0, p.quota - p.taken))
            # proportional: within one lead of the exact share
            if result.open_quota:
                exact = result.missing * opens[p.plan_id] / result.open_quota
                assert abs(share - exact) < 1
        if leftover >= result.open_quota:
            assert result.missing == 0
