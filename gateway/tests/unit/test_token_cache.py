"""The gateway's cache of token checks: one RPC per token however busy the client, never
an answer older than its TTL, and a logout that no call in flight can undo."""
from __future__ import annotations

from typing import Any

import eventlet
import pytest
from eventlet.event import Event
from greenlet import GreenletExit

from gateway.auth import TokenCache
from suivi_common.errors import Unauthorized

TTL = 2.0


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Accounts:
    """Stands for accounts.authenticate; each call blocks until ``release``."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = Event()
        self.answer: dict[str, Any] | Exception = {"user_id": "u1", "role": "user"}

    def authenticate(self) -> dict[str, Any]:
        self.calls += 1
        call, answer = self.calls, self.answer  # what accounts would say at this moment
        self.gate.wait()
        if isinstance(answer, Exception):
            raise answer
        return dict(answer, call=call)

    def release(self) -> None:
        self.gate.send(None)
        eventlet.sleep(0)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock: Clock) -> TokenCache:
    return TokenCache(now=clock)


def test_concurrent_misses_share_one_call(cache: TokenCache) -> None:
    accounts = Accounts()
    pool = eventlet.GreenPool()
    results = [pool.spawn(cache.get, "tok", TTL, accounts.authenticate) for _ in range(16)]
    eventlet.sleep(0)
    accounts.release()
    assert {r.wait()["call"] for r in results} == {1}
    assert accounts.calls == 1
    assert cache.get("tok", TTL, accounts.authenticate)["call"] == 1  # cached now


def test_refresh_ahead_keeps_serving_while_one_request_refreshes(
        cache: TokenCache, clock: Clock) -> None:
    accounts = Accounts()
    accounts.release()
    assert cache.get("tok", TTL, accounts.authenticate)["call"] == 1
    clock.t += TTL * 0.6  # past half its life: the next request refreshes it
    accounts.gate = Event()
    refresher = eventlet.spawn(cache.get, "tok", TTL, accounts.authenticate)
    eventlet.sleep(0)
    assert accounts.calls == 2
    # while that refresh is in flight, others get the still-valid entry without waiting
    assert cache.get("tok", TTL, accounts.authenticate)["call"] == 1
    accounts.release()
    assert refresher.wait()["call"] == 2
    assert cache.get("tok", TTL, accounts.authenticate)["call"] == 2
    assert accounts.calls == 2


def test_an_expired_entry_is_never_served(cache: TokenCache, clock: Clock) -> None:
    accounts = Accounts()
    accounts.release()
    cache.get("tok", TTL, accounts.authenticate)
    clock.t += TTL  # expired: callers wait for a fresh answer
    accounts.gate = Event()
    waiter = eventlet.spawn(cache.get, "tok", TTL, accounts.authenticate)
    eventlet.sleep(0)
    assert not waiter.dead
    accounts.release()
    assert waiter.wait()["call"] == 2


def test_logout_during_a_call_wins(cache: TokenCache) -> None:
    accounts = Accounts()
    before = eventlet.spawn(cache.get, "tok", TTL, accounts.authenticate)
    eventlet.sleep(0)
    cache.evict_token("tok")  # the token is revoked while its check is in flight
    accounts.answer = Unauthorized("This session was closed", code="token_revoked")
    after = eventlet.spawn(cache.get, "tok", TTL, accounts.authenticate)
    eventlet.sleep(0)
    assert accounts.calls == 2  # the later request did not join the stale call
    accounts.release()
    with pytest.raises(Unauthorized):
        after.wait()
    assert before.wait()["call"] == 1  # the request that raced the logout gets its answer...
    with pytest.raises(Unauthorized):  # ...but it was not cached
        cache.get("tok", TTL, accounts.authenticate)


def test_evict_user_drops_only_that_users_tokens(cache: TokenCache) -> None:
    accounts = Accounts()
    accounts.release()
    cache.get("tok-a", TTL, accounts.authenticate)
    other = dict(user_id="u2", role="user")
    cache.get("tok-b", TTL, lambda: other)
    cache.evict_user("u1")
    assert cache.get("tok-b", TTL, lambda: {"user_id": "changed"}) == other
    assert cache.get("tok-a", TTL, accounts.authenticate)["call"] == 2


def test_a_refusal_reaches_every_waiter_and_is_not_cached(cache: TokenCache) -> None:
    accounts = Accounts()
    accounts.answer = Unauthorized("Invalid session", code="token_invalid")
    waiters = [eventlet.spawn(cache.get, "bad", TTL, accounts.authenticate) for _ in range(3)]
    eventlet.sleep(0)
    accounts.release()
    for waiter in waiters:
        with pytest.raises(Unauthorized):
            waiter.wait()
    assert accounts.calls == 1
    with pytest.raises(Unauthorized):
        cache.get("bad", TTL, accounts.authenticate)
    assert accounts.calls == 2


def test_expired_tokens_of_clients_long_gone_are_forgotten(cache: TokenCache, clock: Clock) -> None:
    cache.MAX_ENTRIES = 3
    for i in range(3):
        cache.get(f"old-{i}", TTL, lambda: {"user_id": "u"})
    clock.t += TTL
    cache.get("fresh-1", TTL, lambda: {"user_id": "u"})
    cache.get("fresh-2", TTL, lambda: {"user_id": "u"})
    assert sorted(cache._entries) == ["fresh-1", "fresh-2"]


def test_waiters_are_released_when_the_call_is_killed(cache: TokenCache) -> None:
    accounts = Accounts()
    leader = eventlet.spawn(cache.get, "tok", TTL, accounts.authenticate)
    eventlet.sleep(0)
    follower = eventlet.spawn(cache.get, "tok", TTL, accounts.authenticate)
    eventlet.sleep(0)
    leader.kill()  # e.g. the gateway stops and kills its workers
    with eventlet.Timeout(60, AssertionError("the waiter was left hanging")):
        with pytest.raises(GreenletExit):
            follower.wait()
    accounts.release()


def test_a_changed_level_drops_every_cached_member_of_its_network(cache: TokenCache) -> None:
    """An admin changed an access level: the network's members are asked about again, so
    their next principal carries the new permissions; other networks keep theirs."""
    north = [dict(user_id=f"n{i}", role="user", network_id="north",
                  permissions=["buy_leads"]) for i in range(2)]
    south = dict(user_id="s1", role="user", network_id="south", permissions=["buy_leads"])
    for i, info in enumerate(north):
        cache.get(f"tok-n{i}", TTL, lambda info=info: info)  # type: ignore[misc]
    cache.get("tok-s", TTL, lambda: south)
    cache.evict_network("north")
    narrowed = dict(north[0], permissions=[])
    assert cache.get("tok-n0", TTL, lambda: narrowed)["permissions"] == []
    assert cache.get("tok-s", TTL, lambda: {"user_id": "changed"}) == south


def test_the_signed_principal_carries_the_level() -> None:
    from gateway.auth import principal_of

    member = principal_of({"user_id": "u1", "role": "user", "network_id": "n1",
                           "permissions": ["take_leads"]})
    assert member.permissions == ("take_leads",)
    staff = principal_of({"user_id": "s1", "role": "staff", "network_id": None,
                          "permissions": None})
    assert staff.permissions is None
