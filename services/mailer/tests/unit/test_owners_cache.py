"""The few seconds an automation's owner is kept (``usecases.owners``): expiry, the bound,
and refusals never kept."""
from __future__ import annotations

from typing import Any

import pytest

from mailer.usecases import owners
from mailer.usecases.context import Ctx, Settings
from suivi_common.errors import NotFound


class Accounts:
    def __init__(self) -> None:
        self.asked: list[str] = []
        self.users: dict[str, dict[str, Any]] = {"u1": {"id": "u1", "first_name": "Léa"}}

    def get_user(self, user_id: str) -> dict[str, Any]:
        self.asked.append(user_id)
        if user_id not in self.users:
            raise NotFound("No such user")
        return self.users[user_id]


def ctx(accounts: Accounts, ttl: float) -> Ctx:
    settings = Settings(public_url="https://app.suivi.test", mail_from="Suivi <no-reply@suivi.test>",
                        retry_delays=[1.0], lease_seconds=60, owner_cache_seconds=ttl)
    return Ctx(session=None, vault=None, emit=None, principal=None, db=None, accounts=accounts,
               _settings=settings)


@pytest.fixture(autouse=True)
def empty_cache():
    owners._OWNERS.clear()
    yield
    owners._OWNERS.clear()


def test_an_owner_is_asked_once_within_the_ttl_and_again_after(monkeypatch) -> None:
    accounts, now = Accounts(), [100.0]
    monkeypatch.setattr(owners.time, "monotonic", lambda: now[0])
    c = ctx(accounts, 10)
    first = owners.owner_of_open_office(c, "u1")
    first["first_name"] = "changed by the caller"  # a copy: the cache is not touched
    assert owners.owner_of_open_office(c, "u1")["first_name"] == "Léa"
    assert accounts.asked == ["u1"]
    accounts.users["u1"]["first_name"] = "Léa-Marie"
    now[0] += 10.5
    assert owners.owner_of_open_office(c, "u1")["first_name"] == "Léa-Marie"
    assert accounts.asked == ["u1", "u1"]


def test_a_refusal_is_never_kept_and_zero_turns_the_cache_off() -> None:
    accounts = Accounts()
    c = ctx(accounts, 10)
    for _ in range(2):
        with pytest.raises(NotFound):
            owners.owner_of_open_office(c, "gone")
    off = ctx(accounts, 0)
    owners.owner_of_open_office(off, "u1")
    owners.owner_of_open_office(off, "u1")
    assert accounts.asked == ["gone", "gone", "u1", "u1"]


def test_the_cache_is_bounded_least_recently_used_out() -> None:
    cache = owners.TtlCache(2)
    cache.put("a", 1, 60)
    cache.put("b", 2, 60)
    assert cache.get("a") == 1  # b is now the least recently used
    cache.put("c", 3, 60)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
