"""Networks, members, tenant isolation, profile and privacy."""
from __future__ import annotations

from typing import Any

import eventlet
import pytest
from sqlalchemy import text

from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound
from suivi_common.permissions import ALL
from suivi_common.testing.waiting import wait_for

PASSWORD = "violet tractor mango river"
HARNESS_PASSWORD = PASSWORD  # the harness activates everyone with it


def test_admin_of_one_network_cannot_see_members_of_another(h: Any) -> None:
    a = h.new_network("Réseau A", "admin@a.test")
    b = h.new_network("Réseau B", "admin@b.test")
    member_b = h.new_member(b, "member@b.test")
    admin_a = h.rpc(a["admin"])
    with pytest.raises(NotFound):
        admin_a.get_member(member_b["user_id"])
    with pytest.raises(NotFound):
        admin_a.get_member(b["admin_id"])
    with pytest.raises(NotFound):
        admin_a.get_member("not-a-uuid")
    with pytest.raises(NotFound):
        admin_a.assign_access_level(member_b["user_id"], None)
    assert {m["email"] for m in admin_a.list_members()["items"]} == {"admin@a.test"}
    assert h.rpc(b["admin"]).get_member(member_b["user_id"])["email"] == "member@b.test"


def test_email_is_unique_across_networks_and_invitations_never_tell_it(h: Any) -> None:
    a = h.new_network("Réseau A", "admin@a.test")
    b = h.new_network("Réseau B", "admin@b.test")
    real = h.rpc(a["admin"]).invite_member("shared@x.test", "Sam", "Doe")
    h.wait_event("user_invited", lambda p: p["user_id"] == real["id"])
    # another network's admin gets the answer a new address gets; nothing is made or sent
    users_before = h.scalar("SELECT count(*) FROM users")
    seen = h.rpc(b["admin"]).invite_member("SHARED@x.test ", "Sam", "Doe")
    fresh = h.rpc(b["admin"]).invite_member("nobody-yet@x.test", "Sam", "Doe")
    assert set(seen) == set(fresh) == set(real)
    assert {k: v for k, v in seen.items() if k not in ("id", "email", "invited_at")} == \
        {k: v for k, v in fresh.items() if k not in ("id", "email", "invited_at")}
    assert seen["email"] == "shared@x.test" and seen["id"] != real["id"]
    assert h.scalar("SELECT count(*) FROM users") == users_before + 1  # only the new address
    assert sorted(p["user_id"] for p in h.events_of("user_invited")) == sorted(
        [a["admin_id"], b["admin_id"], real["id"], fresh["id"]])
    # invited again, both are the same conflict; the masked one is remembered, sealed
    for address in ("shared@x.test", "nobody-yet@x.test"):
        with pytest.raises(Conflict) as err:
            h.rpc(b["admin"]).invite_member(address, "Sam", "Doe")
        assert err.value.code == "email_taken"
    assert h.rpc(b["admin"]).get_member(seen["id"]) == seen
    masked = h.events_of("invitation_masked")
    assert [(p["invitation_id"], p["network_id"]) for p in masked] == [(seen["id"], b["id"])]
    assert "shared@x.test" not in str(masked)
    listed = h.rpc(b["admin"]).list_members()["items"]
    assert [m["email"] for m in listed] == ["admin@b.test", "shared@x.test", "nobody-yet@x.test"]
    assert listed[1] == seen
    one_by_one, cursor = [], None  # paged through, each once, in order
    while True:
        page = h.rpc(b["admin"]).list_members(cursor, 1)
        one_by_one += [m["email"] for m in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert one_by_one == [m["email"] for m in listed]
    with pytest.raises(NotFound):
        h.rpc(a["admin"]).get_member(seen["id"])
    assert h.scalar("SELECT count(*) FROM masked_invitations WHERE position("
                    "'shared@x.test'::bytea in email) = 0") == 1
    # nor is a staff account's address
    assert h.rpc(b["admin"]).invite_member("staff@suivi.test", "Sam", "Doe")["status"] == "invited"
    # inside the admin's own network the conflict is told
    with pytest.raises(Conflict) as err:
        h.rpc(a["admin"]).invite_member("shared@x.test", "Sam", "Doe")
    assert err.value.code == "email_taken"
    with pytest.raises(Conflict) as err:
        h.rpc(a["admin"]).invite_member("admin@a.test", "Sam", "Doe")
    assert err.value.code == "email_taken"
    with pytest.raises(Conflict) as err:
        h.rpc(h.staff()).create_network("Réseau C", {"email": "admin@a.test", "first_name": "X",
                                                       "last_name": "Y"})
    assert err.value.code == "email_taken"
    assert h.scalar("SELECT count(*) FROM networks") == 2  # rolled back with the refusal


def test_only_staff_create_networks_and_only_admins_invite(h: Any) -> None:
    a = h.new_network()
    member = h.new_member(a, "m@soleil.test")
    with pytest.raises(Forbidden):
        h.rpc(a["admin"]).create_network("Mine", {"email": "x@y.test", "first_name": "X",
                                                  "last_name": "Y"})
    with pytest.raises(Forbidden):
        h.rpc(member).invite_member("z@soleil.test", "Z", "Z")
    with pytest.raises(Invalid) as err:
        h.rpc(a["admin"]).invite_member("not-an-email", "", "Z")
    assert set(err.value.fields) == {"email", "first_name"}


def test_member_listing_pages_and_limits(h: Any) -> None:
    a = h.new_network()
    admin = h.rpc(a["admin"])
    for i in range(4):
        admin.invite_member(f"m{i}@soleil.test", f"M{i}", "Doe")
    first = admin.list_members(limit=3)
    assert len(first["items"]) == 3 and first["next_cursor"]
    second = admin.list_members(cursor=first["next_cursor"], limit=3)
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    emails = [m["email"] for m in first["items"] + second["items"]]
    assert emails == ["admin@soleil.test"] + [f"m{i}@soleil.test" for i in range(4)]
    member = first["items"][1]
    assert set(member) >= {"id", "email", "first_name", "last_name", "role", "status", "invited_at",
                           "contract_concluded_at", "access_level_id", "subscription_active"}
    assert member["status"] == "invited" and member["subscription_active"] is False
    with pytest.raises(Invalid):
        admin.list_members(limit=501)
    with pytest.raises(Invalid):
        admin.list_members(cursor="garbage!")


def test_network_settings(h: Any) -> None:
    a = h.new_network()
    member = h.new_member(a, "m@soleil.test")
    admin = h.rpc(a["admin"])
    updated = admin.update_network_settings(open_countries=["fr", "be", "FR"], announcement="Bienvenue")
    assert updated["open_countries"] == ["FR", "BE"] and updated["announcement"] == "Bienvenue"
    event = h.wait_event("network_settings_changed")
    assert event["network_id"] == a["id"] and event["open_countries"] == ["FR", "BE"]
    assert h.rpc(member).get_network() == {"id": a["id"], "name": "Réseau Soleil",
                                           "announcement": "Bienvenue", "open_countries": ["FR", "BE"]}
    assert h.service().open_countries(a["id"]) == ["FR", "BE"]
    with pytest.raises(Invalid) as err:
        admin.update_network_settings(open_countries=["FR", "XX"])
    assert "open_countries" in err.value.fields
    with pytest.raises(Forbidden):
        h.rpc(member).update_network_settings(open_countries=["FR"])


def test_access_levels(h: Any) -> None:
    a = h.new_network()
    member = h.new_member(a, "m@soleil.test")
    admin = h.rpc(a["admin"])
    level = admin.create_access_level("Débutant", ["take_leads", "buy_leads", "take_leads"])
    assert level["permissions"] == ["buy_leads", "take_leads"]
    with pytest.raises(Invalid) as err:
        admin.create_access_level("Root", ["buy_leads", "god_mode"])
    assert "god_mode" in err.value.fields["permissions"]
    with pytest.raises(Conflict):
        admin.create_access_level("Débutant", [])
    assigned = admin.assign_access_level(member["user_id"], level["id"])
    assert assigned["access_level_id"] == level["id"]
    assert h.rpc(member).get_me()["access_level"]["permissions"] == ["buy_leads", "take_leads"]
    assert [x["name"] for x in admin.list_access_levels()["items"]] == ["Accès complet", "Débutant"]
    b = h.new_network("Réseau B", "admin@b.test")
    foreign = h.rpc(b["admin"]).create_access_level("Other", [])
    with pytest.raises(NotFound):
        admin.assign_access_level(member["user_id"], foreign["id"])
    assert admin.assign_access_level(member["user_id"], None)["access_level_id"] is None
    # back on the network's default level, which grants everything
    assert h.rpc(member).get_me()["access_level"]["is_default"] is True


def authenticated(h: Any, email: str) -> dict[str, Any]:
    """What the gateway learns of ``email``'s fresh session (and signs into its principal)."""
    token = h.anon.login(email, HARNESS_PASSWORD, "127.0.0.1")["token"]
    return h.gateway.authenticate(token)  # type: ignore[no-any-return]


def test_a_new_network_has_a_default_level_granting_everything(h: Any) -> None:
    a = h.new_network()
    h.new_member(a, "m@soleil.test")
    (default,) = h.rpc(a["admin"]).list_access_levels()["items"]
    assert default["is_default"] and default["permissions"] == list(ALL)
    assert authenticated(h, "m@soleil.test")["permissions"] == list(ALL)
    assert authenticated(h, "admin@soleil.test")["permissions"] == list(ALL)


def test_authenticate_carries_the_current_level(h: Any) -> None:
    a = h.new_network()
    member = h.new_member(a, "m@soleil.test")
    admin = h.rpc(a["admin"])
    level = admin.create_access_level("Vendeur", ["buy_leads"])
    admin.assign_access_level(member["user_id"], level["id"])
    assert authenticated(h, "m@soleil.test")["permissions"] == ["buy_leads"]
    changed = admin.update_access_level(level["id"], "Vendeur confirmé",
                                        ["export_leads", "buy_leads"])
    assert changed["name"] == "Vendeur confirmé"
    assert authenticated(h, "m@soleil.test")["permissions"] == ["buy_leads", "export_leads"]
    (default,) = [x for x in admin.list_access_levels()["items"] if x["is_default"]]
    admin.update_access_level(default["id"], "Standard", ["take_leads"])
    admin.assign_access_level(member["user_id"], None)
    assert authenticated(h, "m@soleil.test")["permissions"] == ["take_leads"]
    assert authenticated(h, "admin@soleil.test")["permissions"] == list(ALL)  # admins: all


def test_each_change_of_a_members_permissions_is_announced_to_the_services(h: Any) -> None:
    """Leads' auto-delivery acts for members without a request: it learns their effective
    permissions from ``member_permissions_changed``, newest ``as_of`` last."""
    a = h.new_network()
    m1 = h.new_member(a, "m1@soleil.test")
    m2 = h.new_member(a, "m2@soleil.test")
    admin = h.rpc(a["admin"])
    seller = admin.create_access_level("Vendeur", ["buy_leads"])
    other = admin.create_access_level("Autre", ["take_leads"])

    def said() -> list[tuple[str, list[str]]]:
        return [(p["user_id"], p["permissions"]) for p in h.events_of("member_permissions_changed")]

    admin.assign_access_level(m1["user_id"], seller["id"])
    assert said() == [(m1["user_id"], ["buy_leads"])]
    admin.update_access_level(seller["id"], "Vendeur", ["buy_leads", "export_leads"])
    assert said()[1:] == [(m1["user_id"], ["buy_leads", "export_leads"])]  # its holder only
    (default,) = [x for x in admin.list_access_levels()["items"] if x["is_default"]]
    admin.update_access_level(default["id"], "Standard", ["send_email"])
    assert said()[2:] == [(m2["user_id"], ["send_email"])]  # the default's holders: no level
    admin.delete_access_level(seller["id"], other["id"])
    assert said()[3:] == [(m1["user_id"], ["take_leads"])]
    events = h.events_of("member_permissions_changed")
    assert [e["as_of"] for e in events] == sorted(e["as_of"] for e in events)
    assert {e["network_id"] for e in events} == {a["id"]}


def test_updating_a_level_is_checked_like_creating_one(h: Any) -> None:
    a = h.new_network()
    admin = h.rpc(a["admin"])
    one = admin.create_access_level("Un", [])
    admin.create_access_level("Deux", [])
    with pytest.raises(Invalid) as err:
        admin.update_access_level(one["id"], "Un", ["god_mode"])
    assert "permissions" in err.value.fields
    with pytest.raises(Conflict) as conflict:
        admin.update_access_level(one["id"], "Deux", [])
    assert conflict.value.code == "access_level_name_taken"
    b = h.new_network("Réseau B", "admin@b.test")
    with pytest.raises(NotFound):
        h.rpc(b["admin"]).update_access_level(one["id"], "Mine", [])
    with pytest.raises(Forbidden):
        h.rpc(h.new_member(a, "m@soleil.test")).update_access_level(one["id"], "Un", [])


def test_deleting_a_held_level_needs_a_replacement(h: Any) -> None:
    a = h.new_network()
    member = h.new_member(a, "m@soleil.test")
    admin = h.rpc(a["admin"])
    old = admin.create_access_level("Ancien", ["buy_leads"])
    new = admin.create_access_level("Nouveau", ["take_leads"])
    admin.assign_access_level(member["user_id"], old["id"])
    with pytest.raises(Conflict) as err:
        admin.delete_access_level(old["id"])
    assert err.value.code == "access_level_in_use" and err.value.fields == {"holders": 1}
    with pytest.raises(Invalid) as bad:
        admin.delete_access_level(old["id"], old["id"])
    assert bad.value.code == "replacement_invalid"
    b = h.new_network("Réseau B", "admin@b.test")
    foreign = h.rpc(b["admin"]).create_access_level("Other", [])
    with pytest.raises(Invalid):
        admin.delete_access_level(old["id"], foreign["id"])
    assert h.rpc(member).get_me()["access_level"]["name"] == "Ancien"  # nothing moved
    done = admin.delete_access_level(old["id"], new["id"])
    assert done["members_moved"] == 1 and done["replacement_id"] == new["id"]
    assert h.rpc(member).get_me()["access_level"]["name"] == "Nouveau"
    assert authenticated(h, "m@soleil.test")["permissions"] == ["take_leads"]
    with pytest.raises(NotFound):
        admin.delete_access_level(old["id"], new["id"])
    # nobody holds "Nouveau" once the member is moved to the default level: no replacement
    (default,) = [x for x in admin.list_access_levels()["items"] if x["is_default"]]
    admin.delete_access_level(new["id"], default["id"])
    assert h.rpc(member).get_me()["access_level"]["is_default"] is True
    spare = admin.create_access_level("Libre", [])
    assert admin.delete_access_level(spare["id"])["members_moved"] == 0
    with pytest.raises(Conflict) as err:
        admin.delete_access_level(default["id"], None)
    assert err.value.code == "default_access_level"


def test_profile_update(h: Any) -> None:
    a = h.new_network()
    member = h.new_member(a, "m@soleil.test")
    me = h.rpc(member)
    updated = me.update_me({"phone": "06 12 34 56 78", "first_name": " Jeanne ",
                            "address": {"line1": "19 rue des 3 Bornes", "postal_code": "75011",
                                        "city": "Paris", "country": "fr"}})
    assert updated["phone"] == "+33612345678" and updated["first_name"] == "Jeanne"
    assert updated["address"]["country"] == "FR"
    with pytest.raises(Invalid) as err:
        me.update_me({"phone": "12"})
    assert "phone" in err.value.fields
    with pytest.raises(Invalid):
        me.update_me({"role": "admin"})
    for changes in ({"email": "new@soleil.test"},
                    {"email": "New@soleil.test", "current_password": PASSWORD}):
        with pytest.raises(Invalid) as err:  # through a confirmation link only
            me.update_me(changes)
        assert err.value.code == "email_change_needs_confirmation"
    assert me.update_me({"email": "M@soleil.test", "first_name": "Jeanne"})["email"] == \
        "m@soleil.test"  # unchanged: fine
    h.anon.login("m@soleil.test", PASSWORD, "203.0.113.5")  # concludes the contract
    got = me.get_me()
    assert got["terms"] == {"current_version": "2026-01", "accepted": False}
    assert got["privacy"] == {"admin_access": True} and got["contract_concluded_at"]
    assert got["subscription"] is None and got["network_id"] == a["id"]


def test_privacy_controls_admin_access(h: Any) -> None:
    a = h.new_network()
    member = h.new_member(a, "m@soleil.test")
    b = h.new_network("Réseau B", "admin@b.test")
    assert h.service().admin_can_view(a["admin_id"], member["user_id"]) is True
    assert h.service().admin_can_view(b["admin_id"], member["user_id"]) is False
    assert h.rpc(member).set_privacy(False) == {"admin_access": False}
    event = h.wait_event("user_privacy_changed")
    assert event == {"user_id": member["user_id"], "network_id": a["id"], "admin_access": False}
    assert h.service().admin_can_view(a["admin_id"], member["user_id"]) is False
    with pytest.raises(Invalid):
        h.rpc(member).set_privacy("no")


def test_member_office_follows_the_privacy_switch(h: Any) -> None:
    a = h.new_network()
    member = h.new_member(a, "m@soleil.test")
    b = h.new_network("Réseau B", "admin@b.test")
    office = h.rpc(a["admin"]).member_office(member["user_id"])
    assert office["member"]["email"] == "m@soleil.test" and "subscription" in office
    with pytest.raises(NotFound):
        h.rpc(b["admin"]).member_office(member["user_id"])
    with pytest.raises(Forbidden):
        h.rpc(member).member_office(member["user_id"])  # not an admin
    h.rpc(member).set_privacy(False)
    with pytest.raises(Forbidden) as refused:
        h.rpc(a["admin"]).member_office(member["user_id"])
    assert refused.value.code == "admin_access_refused"


def test_queries_for_other_services(h: Any) -> None:
    a = h.new_network()
    member = h.new_member(a, "m@soleil.test", "Jeanne", "Roux")
    user = h.service().get_user(member["user_id"])
    assert user == {"id": member["user_id"], "role": "user", "network_id": a["id"], "status": "active",
                    "first_name": "Jeanne", "last_name": "Roux", "email": "m@soleil.test"}
    with pytest.raises(NotFound):
        h.service().get_user("00000000-0000-0000-0000-000000000000")
    assert set(h.service().network_members(a["id"])) == {a["admin_id"], member["user_id"]}
    networks = h.rpc(h.staff()).list_networks()
    assert [n["admin_id"] for n in networks["items"]] == [a["admin_id"]]


def test_create_staff(h: Any) -> None:
    staff = h.rpc(h.staff())
    created = staff.create_staff("dpo@suivi.test", "a long compliance passphrase", "compliance")
    assert created["role"] == "compliance" and created["network_id"] is None
    with pytest.raises(Invalid):
        staff.create_staff("x@suivi.test", "password", "staff")
    with pytest.raises(Invalid):
        staff.create_staff("y@suivi.test", "a long compliance passphrase", "admin")
    login = h.anon.login("dpo@suivi.test", "a long compliance passphrase", "203.0.113.5")
    assert login["user"]["role"] == "compliance"


def test_a_member_assigned_while_their_level_is_deleted_is_never_left_on_it(h: Any) -> None:
    """An assignment holds the level in share mode (as ``assign_access_level`` does) while
    the deletion waits for it: once it commits, the deletion counts that holder and asks
    for a replacement instead of deleting a level someone just got."""
    a = h.new_network()
    member = h.new_member(a, "m@soleil.test")
    level = h.rpc(a["admin"]).create_access_level("Éphémère", [])
    with h.engine.connect() as conn:
        tx = conn.begin()
        conn.execute(text("SELECT id FROM access_levels WHERE id = :id FOR SHARE"),
                     {"id": level["id"]})
        conn.execute(text("UPDATE users SET access_level_id = :level WHERE id = :id"),
                     {"level": level["id"], "id": member["user_id"]})
        deleting = eventlet.spawn(lambda: h.rpc(a["admin"]).delete_access_level(level["id"]))
        wait_for(lambda: h.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                  "current_database() AND wait_event_type = 'Lock'") > 0,
                 what="the deletion waiting for the assignment")
        tx.commit()
    with pytest.raises(Conflict) as err:
        deleting.wait()
    assert err.value.code == "access_level_in_use"
    assert h.rpc(member).get_me()["access_level"]["name"] == "Éphémère"
