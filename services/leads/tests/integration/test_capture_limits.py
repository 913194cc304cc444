"""Capture rate limits per capture key and per source address (issue 14 §3): over either,
a 429 with Retry-After and nothing stored; the windows are the platform clock's (the
tests move it); parallel requests never pass the limit and no accepted lead is lost."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import eventlet
import pytest
from nameko import config

from leads import testing
from leads.models import capture_rate_windows, leads
from suivi_common import clock
from suivi_common.errors import RateLimited, Unauthorized

NOW = datetime(2026, 3, 2, 9, 0, 15, tzinfo=UTC)  # 45 s left in its minute


@pytest.fixture(autouse=True)
def limits() -> Iterator[None]:
    clock.freeze(NOW)
    with config.patch({"CAPTURE_RATE_WINDOW_SECONDS": 60, "CAPTURE_RATE_PER_KEY": 3,
                       "CAPTURE_RATE_PER_IP": 5}):
        yield


def capture(stack: Any, key: str, i: int, ip: str | None = "203.0.113.7") -> list[Any]:
    with stack.rpc() as rpc:
        return rpc.capture(key, [testing.raw_lead(i)], ip)["results"]


def refused(stack: Any, key: str, i: int, ip: str | None = "203.0.113.7") -> RateLimited:
    with pytest.raises(RateLimited) as caught:
        capture(stack, key, i, ip)
    return caught.value


def test_a_key_over_its_limit_is_refused_until_its_window_ends(stack: Any) -> None:
    key, other = stack.new_site_key(), stack.new_site_key()
    for i in range(3):
        assert capture(stack, key, i, f"198.51.100.{i}")[0]["status"] == "accepted"
    error = refused(stack, key, 3, "198.51.100.9")
    assert (error.code, error.retry_after) == ("capture_rate_limited", 45)
    assert stack.count(leads) == 3  # nothing stored
    with stack.rpc() as rpc, pytest.raises(RateLimited):  # the gateway's look before the body
        rpc.check_capture_key(key, "198.51.100.9")
    assert capture(stack, other, 4, "198.51.100.9")[0]["status"] == "accepted"
    clock.freeze(NOW + timedelta(seconds=45))  # the next window
    with stack.rpc() as rpc:
        rpc.check_capture_key(key, "198.51.100.9")
    assert capture(stack, key, 3, "198.51.100.9")[0]["status"] == "accepted"
    assert stack.count(leads) == 5
    assert stack.count(capture_rate_windows, capture_rate_windows.c.window_start
                       < NOW + timedelta(seconds=45)) == 0  # past windows are purged


def test_an_address_over_its_limit_is_refused_whatever_the_key(stack: Any) -> None:
    keys = [stack.new_site_key() for _ in range(3)]
    for i in range(5):
        assert capture(stack, keys[i % 2], i)[0]["status"] == "accepted"
    assert refused(stack, keys[2], 5).code == "capture_rate_limited"
    assert capture(stack, keys[2], 5, "203.0.113.8")[0]["status"] == "accepted"
    stored = stack.rows(capture_rate_windows.select())
    assert not any("203.0.113" in r.subject for r in stored)  # a keyed hash, not the address
    with config.patch({"CAPTURE_RATE_PER_IP": 0}):  # 0: no limit
        assert capture(stack, keys[2], 6)[0]["status"] == "accepted"


def test_a_wrong_key_is_a_401_and_counts_nothing(stack: Any) -> None:
    with pytest.raises(Unauthorized):
        capture(stack, "lck_not-a-key", 1)
    assert stack.count(capture_rate_windows) == 0 and stack.count(leads) == 0


def test_parallel_requests_never_pass_the_limit_and_lose_no_accepted_lead(stack: Any) -> None:
    key = stack.new_site_key()
    outcomes: list[Any] = []

    def one(i: int) -> None:
        try:
            outcomes.append(capture(stack, key, i, f"192.0.2.{i}"))
        except RateLimited as e:
            outcomes.append(e)

    pool = [eventlet.spawn(one, i) for i in range(8)]
    for g in pool:
        g.wait()
    accepted = [r[0]["id"] for r in outcomes if isinstance(r, list)]
    assert len(accepted) == 3 and sum(isinstance(r, RateLimited) for r in outcomes) == 5
    assert sorted(str(r.id) for r in stack.rows(leads.select())) == sorted(accepted)
