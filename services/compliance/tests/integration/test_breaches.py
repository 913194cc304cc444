"""Breach notification over the broker, with a fake leads answering ``breach_scope``:
declaring, per-controller notices at each stage, the countdown on the platform clock,
delivery progress, recounting after leads was down, and the controllers' approvals."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from suivi_common import clock, events
from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound
from suivi_common.testing.waiting import wait_for

DETECTED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NET_A, NET_B = str(uuid.uuid4()), str(uuid.uuid4())
ALICE, BRUNO, CARLA = (str(uuid.uuid4()) for _ in range(3))


def declaration(**over: Any) -> dict[str, Any]:
    return {"nature": "Accès non autorisé à une sauvegarde de la base des prospects",
            "detected_at": DETECTED.isoformat(), "data_categories": ["identity", "email", "phone"],
            "services": ["leads"], "scope": {"kind": "networks", "ids": [NET_A]},
            "likely_consequences": "Tentatives d'hameçonnage auprès des prospects",
            "measures_taken": "Sauvegarde retirée, accès révoqués, clés changées", **over}


def declare(h: Any, **over: Any) -> dict[str, Any]:
    d = declaration(**over)
    return h.compliance.declare_breach(d["nature"], d["detected_at"], d["data_categories"],
                                       d["services"], d["scope"], d["likely_consequences"],
                                       d["measures_taken"])


@pytest.fixture(autouse=True)
def two_controllers(scopes: list[dict[str, Any]]) -> None:
    clock.freeze(DETECTED + timedelta(hours=2))
    scopes[:] = [{"user_id": ALICE, "network_id": NET_A, "persons": 12, "records": 30},
                 {"user_id": BRUNO, "network_id": NET_A, "persons": 3, "records": 3}]


def notices(h: Any, count: int, breach_id: str) -> list[dict[str, Any]]:
    return h.wait_events("breach_notice_requested", count, lambda p: p["breach_id"] == breach_id)


def controller(h: Any, user_id: str) -> Any:
    return h.user(user_id, network_id=NET_A)


def test_a_declaration_notifies_each_controller_with_their_counts(
        h: Any, scope_asks: list[dict[str, Any]]) -> None:
    breach = declare(h)
    assert breach["progress"]["controllers"] == 2
    assert (breach["progress"]["persons"], breach["progress"]["records"]) == (15, 33)
    assert breach["countdown"]["deadline_at"] == "2026-03-05T08:00:00+00:00"
    assert breach["countdown"]["seconds_remaining"] == 70 * 3600
    ask = scope_asks[0]
    assert ask["scope"]["network_ids"] == [NET_A] and ask["scope"]["kind"] == "networks"
    assert ask["by"].is_service and ask["by"].user_id == "compliance"
    sent = {n["user_id"]: n for n in notices(h, 2, breach["id"])}
    alice = sent[ALICE]
    assert (alice["persons"], alice["records"], alice["stage"]) == (12, 30, 1)
    assert alice["dpo"] == {"name": "Claire Dupont", "email": "dpo@suivi.test"}
    assert "personnes concernées : 12" in alice["text"] and "Claire Dupont" in alice["text"]
    assert sent[BRUNO]["persons"] == 3
    assert h.compliance.audit_log()["items"][0]["kind"] == "breach.declared"


def test_the_countdown_follows_the_platform_clock(h: Any) -> None:
    breach = declare(h)
    clock.freeze(DETECTED + timedelta(hours=71, minutes=30))
    assert h.compliance.get_breach(breach["id"])["countdown"]["seconds_remaining"] == 1800
    clock.freeze(DETECTED + timedelta(hours=73))
    assert h.compliance.get_breach(breach["id"])["countdown"]["overdue"] is True


@pytest.mark.parametrize(("over", "field"), [
    ({"nature": " "}, "nature"),
    ({"detected_at": (DETECTED + timedelta(days=1)).isoformat()}, "detected_at"),
    ({"data_categories": ["password"]}, "data_categories"),
    ({"services": []}, "services"),
    ({"scope": {"kind": "networks", "ids": []}}, "scope"),
    ({"likely_consequences": ""}, "likely_consequences"),
    ({"measures_taken": None}, "measures_taken"),
])
def test_bad_declarations_are_refused(h: Any, over: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as err:
        declare(h, **over)
    assert field in err.value.fields
    assert h.scalar("SELECT count(*) FROM breaches") == 0


def test_only_compliance_staff_declare(h: Any) -> None:
    d = declaration()
    with pytest.raises(Forbidden):
        h.staff.declare_breach(d["nature"], d["detected_at"], d["data_categories"],
                               d["services"], d["scope"], d["likely_consequences"],
                               d["measures_taken"])
    with pytest.raises(Forbidden):
        controller(h, ALICE).list_breaches()


def test_updates_go_to_the_same_controllers_and_delivery_is_tracked(h: Any) -> None:
    breach = declare(h)
    notices(h, 2, breach["id"])
    updated = h.compliance.breach_update(breach["id"], "Le périmètre est confirmé",
                                         "Mots de passe réinitialisés")
    assert updated["stage"] == 2 and updated["measures_taken"] == "Mots de passe réinitialisés"
    second = [n for n in notices(h, 4, breach["id"]) if n["stage"] == 2]
    assert sorted(n["user_id"] for n in second) == sorted([ALICE, BRUNO])
    assert all(n["kind"] == "update" and "Le périmètre est confirmé" in n["text"]
               for n in second)
    for user_id, status in ((ALICE, "sent"), (BRUNO, "failed")):
        mid = h.publish("mailer", "breach_notice_sent", events.example(
            "breach_notice_sent", breach_id=breach["id"], user_id=user_id, stage=2, status=status))
        h.processed(mid)
    progress = h.compliance.get_breach(breach["id"])["progress"]["notices"]
    assert progress == {"requested": 2, "sent": 1, "failed": 1}
    rows = h.compliance.breach_controllers(breach["id"])["items"]
    assert {r["user_id"]: [n["status"] for n in r["notices"]] for r in rows} == {
        ALICE: ["requested", "sent"], BRUNO: ["requested", "failed"]}


def test_a_breach_declared_while_leads_is_down_is_kept_then_recounted(
        h: Any, leads_state: dict[str, bool], scopes: list[dict[str, Any]]) -> None:
    leads_state["down"] = True
    breach = declare(h)
    assert breach["progress"]["controllers"] == 0 and breach["counted_at"] is None
    assert "leads" in breach["count_error"]
    leads_state["down"] = False
    recounted = h.compliance.breach_recount(breach["id"])
    assert recounted["progress"]["controllers"] == 2 and recounted["count_error"] is None
    notices(h, 2, breach["id"])
    scopes.append({"user_id": CARLA, "network_id": NET_A, "persons": 1, "records": 1})
    h.compliance.breach_recount(breach["id"])  # only the newcomer is told
    found = notices(h, 3, breach["id"])
    h.settled()
    assert sorted(n["user_id"] for n in h.events_of("breach_notice_requested")) == sorted(
        [ALICE, BRUNO, CARLA])
    assert len(found) == 3


def test_a_controller_sees_and_answers_only_their_breach(h: Any) -> None:
    breach = declare(h)
    mine = controller(h, ALICE).my_breach(breach["id"])
    assert (mine["persons"], mine["records"]) == (12, 30) and mine["answered_at"] is None
    for stranger in (controller(h, CARLA), h.user(CARLA, role="admin", network_id=NET_B)):
        with pytest.raises(NotFound):
            stranger.my_breach(breach["id"])
        with pytest.raises(NotFound):
            stranger.approve_breach(breach["id"], True, False)
    with pytest.raises(NotFound):
        controller(h, ALICE).my_breach(str(uuid.uuid4()))
    with pytest.raises(Forbidden):
        h.compliance.approve_breach(breach["id"], True, False)


def test_approving_produces_the_authority_record_and_the_subject_notices(h: Any) -> None:
    breach = declare(h)
    h.compliance.breach_update(breach["id"], "Le périmètre est confirmé")
    clock.freeze(DETECTED + timedelta(hours=5))
    answer = controller(h, ALICE).approve_breach(breach["id"], True, True)
    assert answer["notify_authority"] and answer["authority_record_available"]
    record = controller(h, ALICE).my_authority_record(breach["id"])
    assert record["controller"] == {"user_id": ALICE, "network_id": NET_A}
    assert (record["approximate_persons"], record["approximate_records"]) == (12, 30)
    assert record["dpo"] == {"name": "Claire Dupont", "email": "dpo@suivi.test"}
    assert record["timeline"]["within_72_hours"] is True
    assert [s["stage"] for s in record["stages"]] == [1, 2]
    subject = h.wait_events("breach_subject_notice_requested", 1)[0]
    assert subject["user_id"] == ALICE and subject["scope"]["network_ids"] == [NET_A]
    assert "Ce qui s'est passé" in subject["text"]
    with pytest.raises(Conflict):
        controller(h, ALICE).approve_breach(breach["id"], False, False)
    assert h.compliance.breach_authority_records(breach["id"])["items"] == [record]
    progress = h.compliance.get_breach(breach["id"])["progress"]
    assert (progress["answered"], progress["authority_approved"],
            progress["subjects_approved"]) == (1, 1, 1)


def test_declining_produces_no_record(h: Any) -> None:
    breach = declare(h)
    controller(h, BRUNO).approve_breach(breach["id"], False, False)
    with pytest.raises(NotFound):
        controller(h, BRUNO).my_authority_record(breach["id"])
    with pytest.raises(Invalid):
        controller(h, ALICE).approve_breach(breach["id"], "yes", False)
    h.settled()
    assert h.events_of("breach_subject_notice_requested") == []


def test_two_answers_at_once_count_once(h: Any) -> None:
    breach = declare(h)
    alice = controller(h, ALICE)
    with h.engine.connect() as blocker:
        blocker.execute(text("BEGIN"))
        blocker.execute(text("SELECT 1 FROM breach_controllers WHERE user_id = :u FOR UPDATE"),
                        {"u": ALICE})
        calls = [alice.approve_breach.call_async(breach["id"], True, False) for _ in range(2)]
        wait_for(lambda: h.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE '%FROM breach_controllers%'") == 2,
            what="two answers waiting")
        blocker.execute(text("ROLLBACK"))
    outcomes = []
    for call in calls:
        try:
            outcomes.append(call.result()["notify_authority"])
        except Conflict as err:
            outcomes.append(err.code)
    assert sorted(map(str, outcomes)) == ["True", "already_answered"]
    answers = [e for e in h.compliance.audit_log()["items"]
               if e["kind"] == "breach.controller_answered"]
    assert len(answers) == 1


def test_the_authority_record_prints(h: Any) -> None:
    breach = declare(h, nature="Fuite <script>alert(1)</script>")
    controller(h, ALICE).approve_breach(breach["id"], True, False)
    doc = controller(h, ALICE).my_authority_record_document(breach["id"])
    assert doc["filename"].endswith(".html")
    assert "Nombre approximatif de personnes concernées" in doc["html"]
    assert "<script>" not in doc["html"] and "&lt;script&gt;" in doc["html"]
    with pytest.raises(NotFound):
        controller(h, BRUNO).my_authority_record_document(breach["id"])
