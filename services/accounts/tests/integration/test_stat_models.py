"""Statistics models (admin tool 3): the admin's CRUD, other networks' models not found,
and whose figures each caller sees (terms art. 5)."""
from __future__ import annotations

from typing import Any

import pytest

from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound

MODEL = {"name": "Leads per week", "metric": "leads_received", "grouping": "week",
         "window_days": 56}


def test_admin_defines_edits_and_deletes_models(h: Any) -> None:
    a = h.new_network()
    admin = h.rpc(a["admin"])
    made = admin.create_stat_model(MODEL)
    assert {k: made[k] for k in MODEL} == MODEL and made["created_by"] == a["admin_id"]
    with pytest.raises(Conflict) as err:
        admin.create_stat_model(dict(MODEL, name="  Leads   per week "))
    assert err.value.code == "stat_model_name_taken"
    changed = admin.update_stat_model(made["id"], dict(MODEL, grouping="member", window_days=7))
    assert changed["grouping"] == "member" and changed["window_days"] == 7
    assert [m["id"] for m in admin.list_stat_models()["items"]] == [made["id"]]
    assert admin.delete_stat_model(made["id"]) == {"id": made["id"], "deleted": True}
    assert admin.list_stat_models()["items"] == []


def test_a_model_that_names_nothing_counted_is_refused_with_its_fields(h: Any) -> None:
    admin = h.rpc(h.new_network()["admin"])
    with pytest.raises(Invalid) as err:
        admin.create_stat_model({"name": "", "metric": "sales", "grouping": "week",
                                 "window_days": 0})
    assert set(err.value.fields) == {"name", "metric", "window_days"}
    with pytest.raises(Invalid) as err:
        admin.create_stat_model(dict(MODEL, metric="emails_sent", grouping="origin"))
    assert set(err.value.fields) == {"grouping"}


def test_members_read_models_only_admins_change_them_and_other_networks_see_nothing(h: Any) -> None:
    a = h.new_network()
    b = h.new_network("Réseau B", "admin@b.test")
    member = h.new_member(a, "m@soleil.test")
    made = h.rpc(a["admin"]).create_stat_model(MODEL)
    assert h.rpc(member).get_stat_model(made["id"])["name"] == MODEL["name"]
    with pytest.raises(Forbidden):
        h.rpc(member).create_stat_model(dict(MODEL, name="Mine"))
    with pytest.raises(Forbidden):
        h.rpc(member).delete_stat_model(made["id"])
    other = h.rpc(b["admin"])
    for call in (lambda: other.get_stat_model(made["id"]), lambda: other.stat_scope(made["id"]),
                 lambda: other.update_stat_model(made["id"], MODEL),
                 lambda: other.delete_stat_model(made["id"]),
                 lambda: other.stat_scope("not-a-uuid")):
        with pytest.raises(NotFound):
            call()
    assert other.list_stat_models()["items"] == []


def test_the_admin_sees_one_by_one_only_members_who_allow_it(h: Any) -> None:
    a = h.new_network()
    open_member = h.new_member(a, "open@soleil.test")
    closed_member = h.new_member(a, "closed@soleil.test")
    h.rpc(closed_member).set_privacy(False)
    made = h.rpc(a["admin"]).create_stat_model(MODEL)
    scope = h.rpc(a["admin"]).stat_scope(made["id"])
    assert scope["whole_network"] is True
    assert set(scope["split"]) == {a["admin_id"], open_member["user_id"]}
    mine = h.rpc(closed_member).stat_scope(made["id"])
    assert mine["whole_network"] is False and mine["split"] == [closed_member["user_id"]]
