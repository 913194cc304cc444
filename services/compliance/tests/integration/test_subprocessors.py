"""Sub-processors over the broker: announcing a change (emailed to every controller by the
mailer), the registry for any user, objections and who sees them."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from suivi_common import clock
from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NET = str(uuid.uuid4())
ALICE, BRUNO = str(uuid.uuid4()), str(uuid.uuid4())


def change(**over: Any) -> dict[str, Any]:
    return {"kind": "add", "name": "Hébergeur SAS", "contact": "1 rue de Paris, dpo@heb.fr",
            "activity": "Hébergement des bases de données", "country": "FR",
            "contract_start": "2026-04-01",
            "effective_from": (NOW + timedelta(days=30)).isoformat(), **over}


@pytest.fixture(autouse=True)
def frozen(h: Any) -> None:
    clock.freeze(NOW)


def status_of(h: Any, who: Any, name: str) -> str:
    return next(s["status"] for s in who.subprocessor_registry()["items"] if s["name"] == name)


def test_an_announced_addition_is_emailed_and_takes_effect_on_its_date(h: Any) -> None:
    made = h.compliance.announce_subprocessor_change(change())
    event = h.wait_events("subprocessor_change_announced", 1)[0]
    assert event["change_id"] == made["id"] and event["subprocessor"]["name"] == "Hébergeur SAS"
    assert event["effective_from"] == "2026-04-01T09:00:00+00:00"
    assert "Hébergement des bases de données" in event["text"]
    alice = h.user(ALICE, network_id=NET)
    assert status_of(h, alice, "Hébergeur SAS") == "announced"
    clock.freeze(NOW + timedelta(days=30))
    assert status_of(h, alice, "Hébergeur SAS") == "active"
    assert h.compliance.audit_log()["items"][-1]["kind"] == "subprocessor.change_announced"


def test_a_short_notice_is_refused(h: Any) -> None:
    with pytest.raises(Invalid) as err:
        h.compliance.announce_subprocessor_change(change(
            effective_from=(NOW + timedelta(days=29)).isoformat()))
    assert set(err.value.fields) == {"effective_from"}
    assert h.compliance.subprocessor_registry()["items"] == []


def test_only_compliance_staff_announce_and_see_objections(h: Any) -> None:
    made = h.compliance.announce_subprocessor_change(change())
    for who in (h.staff, h.user(ALICE, network_id=NET)):
        with pytest.raises(Forbidden):
            who.announce_subprocessor_change(change(name="Autre"))
        with pytest.raises(Forbidden):
            who.subprocessor_objections(made["id"])
    with pytest.raises(Unauthorized):
        h.rpc(None).subprocessor_registry()
    assert len(h.staff.subprocessor_registry()["items"]) == 1  # any authenticated user reads


def test_an_objection_keeps_the_change_out_for_that_controller_only(h: Any) -> None:
    old = h.compliance.announce_subprocessor_change(change(name="Ancien"))
    clock.freeze(NOW + timedelta(days=31))
    old_id = old["subprocessor_id"]
    new = h.compliance.announce_subprocessor_change(change(
        kind="replace", name="Nouveau", replaces=old_id,
        effective_from=(NOW + timedelta(days=61)).isoformat()))
    alice, bruno = h.user(ALICE, network_id=NET), h.user(BRUNO, network_id=NET)
    objection = alice.object_to_subprocessor_change(new["id"], "Hébergement hors UE refusé")
    assert objection["change_id"] == new["id"]
    with pytest.raises(Conflict) as err:
        alice.object_to_subprocessor_change(new["id"], "encore")
    assert err.value.code == "already_objected"
    clock.freeze(NOW + timedelta(days=61))
    assert (status_of(h, alice, "Nouveau"), status_of(h, alice, "Ancien")) == ("objected", "active")
    assert (status_of(h, bruno, "Nouveau"), status_of(h, bruno, "Ancien")) == ("active", "replaced")
    seen = h.compliance.subprocessor_objections(new["id"])["items"]
    assert [(o["user_id"], o["reason"]) for o in seen] == [(ALICE, "Hébergement hors UE refusé")]
    changes = {c["id"]: c for c in h.compliance.subprocessor_changes()["items"]}
    assert changes[new["id"]]["objections"] == 1 and changes[new["id"]]["in_effect"]
    with pytest.raises(Conflict) as late:
        bruno.object_to_subprocessor_change(new["id"], "trop tard")
    assert late.value.code == "change_in_effect"


def test_replacing_twice_or_replacing_nothing_is_refused(h: Any) -> None:
    old = h.compliance.announce_subprocessor_change(change(name="Ancien"))
    h.compliance.announce_subprocessor_change(change(kind="replace", name="Nouveau",
                                                     replaces=old["subprocessor_id"]))
    with pytest.raises(Conflict):
        h.compliance.announce_subprocessor_change(change(kind="replace", name="Troisième",
                                                         replaces=old["subprocessor_id"]))
    with pytest.raises(Invalid):
        h.compliance.announce_subprocessor_change(change(kind="replace", name="X",
                                                         replaces=str(uuid.uuid4())))


def test_objecting_needs_a_member_and_a_real_change(h: Any) -> None:
    made = h.compliance.announce_subprocessor_change(change())
    with pytest.raises(Forbidden):
        h.compliance.object_to_subprocessor_change(made["id"], "non")
    with pytest.raises(NotFound):
        h.user(ALICE, network_id=NET).object_to_subprocessor_change(str(uuid.uuid4()), "non")
    with pytest.raises(Invalid):
        h.user(ALICE, network_id=NET).object_to_subprocessor_change(made["id"], "")
