"""What compliance's register asks of accounts: the controllers and the data map."""
from __future__ import annotations

from typing import Any

import pytest

from suivi_common.errors import Forbidden, Unauthorized


def test_the_controllers_are_the_members_under_contract(h: Any) -> None:
    a = h.new_network()
    b = h.new_network("Réseau Lune", "admin@lune.test", "Luc", "Blanc")
    member = h.new_member(a, "bruno@soleil.test")
    h.rpc(a["admin"]).invite_member("invited@soleil.test", "Ines", "Vidal")  # no contract yet
    for who in (a["admin"], b["admin"], member):  # the contract is concluded at first login
        h.anon.login({a["admin"]["user_id"]: "admin@soleil.test",
                      b["admin"]["user_id"]: "admin@lune.test",
                      member["user_id"]: "bruno@soleil.test"}[who["user_id"]],
                     "violet tractor mango river", "203.0.113.5")
    h.rpc(h.staff()).suspend_user(member["user_id"])  # a pause: still a controller
    answer = h.rpc(service="compliance").register_controllers()
    assert answer["count"] == 3
    assert {(i["user_id"], i["network_id"], i["name"], i["email"]) for i in answer["items"]} == {
        (a["admin_id"], a["id"], "Alice Martin", "admin@soleil.test"),
        (b["admin_id"], b["id"], "Luc Blanc", "admin@lune.test"),
        (member["user_id"], a["id"], "Bruno Leroy", "bruno@soleil.test")}
    h.rpc(h.staff()).close_user(member["user_id"])
    assert h.rpc(service="compliance").register_controllers()["count"] == 2


def test_more_controllers_than_a_page(h: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from accounts.usecases import register

    monkeypatch.setattr(register, "BATCH", 2)
    network = h.new_network()
    emails = ["admin@soleil.test"]
    for n in range(4):
        email = f"m{n}@soleil.test"
        h.new_member(network, email)
        emails.append(email)
    for email in emails:
        h.anon.login(email, "violet tractor mango river", "203.0.113.5")
    answer = h.rpc(service="compliance").register_controllers()
    assert answer["count"] == 5 and sorted(i["email"] for i in answer["items"]) == sorted(emails)


def test_the_data_map_over_rpc(h: Any) -> None:
    answer = h.rpc(service="compliance").data_map()
    assert answer["service"] == "accounts" and answer["format_version"] == 1
    assert {a["role"] for a in answer["activities"]} == {"controller"}


def test_only_services_may_ask(h: Any) -> None:
    with pytest.raises(Unauthorized):
        h.anon.register_controllers()
    with pytest.raises(Forbidden):
        h.rpc(h.staff()).data_map()
