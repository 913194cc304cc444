"""Terms of service: current version, acceptance with date and IP, new versions."""
from __future__ import annotations

from typing import Any

import pytest

from suivi_common.errors import Conflict, Forbidden, Invalid

PASSWORD = "violet tractor mango river"


def test_initial_terms_are_the_french_text(h: Any) -> None:
    terms = h.anon.current_terms()
    assert terms["version"] == "2026-01" and terms["published_at"]
    assert "Conditions générales d'utilisation" in terms["text"]


def test_accept_then_publish_then_accept_again(h: Any) -> None:
    network = h.new_network()
    member = h.new_member(network, "m@soleil.test", "Jeanne", "Roux")
    h.new_member(network, "pending@soleil.test")
    h.rpc(network["admin"]).invite_member("invited@soleil.test", "Ivy", "Nope")
    token = h.anon.login("m@soleil.test", PASSWORD, "203.0.113.5")["token"]
    assert h.gateway.authenticate(token)["terms_accepted"] is False

    accepted = h.rpc(member).accept_terms("2026-01", "203.0.113.5")
    assert accepted["version"] == "2026-01" and accepted["accepted_at"]
    assert h.rpc(member).accept_terms("2026-01", "203.0.113.5") == accepted  # idempotent
    assert h.gateway.authenticate(token)["terms_accepted"] is True
    ip = h.scalar("SELECT ip FROM terms_acceptances")
    assert b"203.0.113.5" not in bytes(ip)

    published = h.rpc(h.staff()).publish_terms("2026-06", "Nouvelles conditions.")
    assert published["version"] == "2026-06"
    assert h.wait_event("terms_published")["version"] == "2026-06"
    notices = h.events_of("terms_notice")
    assert {n["email"] for n in notices} == {"admin@soleil.test", "m@soleil.test", "pending@soleil.test"}
    notice = next(n for n in notices if n["email"] == "m@soleil.test")
    assert notice == {"user_id": member["user_id"], "email": "m@soleil.test", "first_name": "Jeanne",
                      "version": "2026-06"}

    assert h.gateway.authenticate(token)["terms_accepted"] is False
    with pytest.raises(Conflict) as err:
        h.rpc(member).accept_terms("2026-01", "203.0.113.5")
    assert err.value.code == "terms_version_mismatch"
    h.rpc(member).accept_terms("2026-06", "2001:db8::1")
    assert h.gateway.authenticate(token)["terms_accepted"] is True
    assert h.rpc(member).get_me()["terms"] == {"current_version": "2026-06", "accepted": True}


def test_publishing_is_for_staff_and_versions_are_unique(h: Any) -> None:
    network = h.new_network()
    with pytest.raises(Forbidden):
        h.rpc(network["admin"]).publish_terms("2026-06", "x")
    staff = h.rpc(h.staff())
    with pytest.raises(Conflict):
        staff.publish_terms("2026-01", "again")
    with pytest.raises(Invalid):
        staff.publish_terms("bad version!", "text")
    with pytest.raises(Invalid):
        h.rpc(network["admin"]).accept_terms("2026-01", "not an ip")


def test_staff_list_the_versions_newest_first(h: Any) -> None:
    staff = h.rpc(h.staff())
    staff.publish_terms("2026-07", "Texte de juillet.")
    listed = staff.list_terms(10)["items"]
    assert [t["version"] for t in listed[:2]] == ["2026-07", "2026-01"]
    assert listed[0]["current"] is True and listed[1]["current"] is False
    assert listed[0]["characters"] == len("Texte de juillet.") and listed[0]["published_at"]
    assert len(staff.list_terms(1)["items"]) == 1
    network = h.new_network()
    with pytest.raises(Forbidden):
        h.rpc(network["admin"]).list_terms(10)
