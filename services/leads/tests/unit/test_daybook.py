"""Day book: take size and the shortfall-vs-forfeit rule."""

import pytest

from leads.domain.daybook import remaining_today, shortfall_after, take_size


def test_take_asks_for_the_rest_of_the_quota_or_less() -> None:
    assert take_size(10, 3, None) == 7
    assert take_size(10, 3, 2) == 2
    assert take_size(10, 3, 50) == 7
    assert take_size(10, 12, None) == 0  # quota lowered after takes: nothing, never negative
    with pytest.raises(ValueError):
        take_size(10, 0, -1)


def test_remaining_never_negative() -> None:
    assert remaining_today(0, 4) == 0


def test_short_stock_makes_the_whole_untaken_rest_shortfall() -> None:
    # quota 10, asked 10, got 3: 7 missing for lack of stock
    assert shortfall_after(10, taken_after=3, previous=0, asked=10, served=3) == 7


def test_empty_stock_with_small_request_still_counts_the_whole_rest() -> None:
    # asked 2 (max=2) and got 0: the stock was empty for everything still due
    assert shortfall_after(10, taken_after=0, previous=0, asked=2, served=0) == 10


def test_later_delivery_shrinks_the_shortfall() -> None:
    assert shortfall_after(10, taken_after=8, previous=7, asked=5, served=5) == 2
    assert shortfall_after(10, taken_after=10, previous=7, asked=7, served=7) == 0


def test_full_service_never_creates_a_shortfall() -> None:
    # a user who takes part of the quota with stock available: the rest is forfeit, not owed
    assert shortfall_after(10, taken_after=2, previous=0, asked=2, served=2) == 0


def test_taken_plus_shortfall_never_exceeds_quota() -> None:
    for quota in range(0, 6):
        for taken in range(0, 8):
            for previous in range(0, 8):
                for asked in range(0, 4):
                    for served in range(0, asked + 1):
                        s = shortfall_after(quota, taken, previous, asked, served)
                        assert s >= 0
                        assert taken + s <= max(quota, taken)


def test_served_more_than_asked_is_a_bug() -> None:
    with pytest.raises(ValueError):
        shortfall_after(10, 5, 0, asked=1, served=2)
