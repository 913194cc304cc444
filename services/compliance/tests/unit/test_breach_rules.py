"""Breach rules: what a declaration must say, the 72-hour countdown, notices in French,
the art. 33(3) record."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from compliance.domain import breaches as rules
from compliance.domain.requests import RuleError

DETECTED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NET = str(uuid.uuid4())


def breach(**over: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "nature": "Accès non autorisé à une sauvegarde",
            "detected_at": DETECTED, "declared_at": DETECTED + timedelta(hours=1),
            "data_categories": ["email", "phone"], "services": ["leads"],
            "scope": {"kind": "networks", "ids": [NET]},
            "likely_consequences": "Hameçonnage possible", "measures_taken": "Clés changées",
            **over}


def test_the_countdown_runs_72_hours_from_detection() -> None:
    c = rules.countdown(DETECTED, DETECTED + timedelta(hours=70))
    assert c == {"deadline_at": "2026-03-05T08:00:00+00:00", "seconds_remaining": 7200,
                 "overdue": False}
    late = rules.countdown(DETECTED, DETECTED + timedelta(hours=73))
    assert late["seconds_remaining"] == 0 and late["overdue"]


def test_detection_in_the_future_is_refused() -> None:
    with pytest.raises(RuleError):
        rules.parse_detected_at((DETECTED + timedelta(hours=1)).isoformat(), DETECTED)
    with pytest.raises(RuleError):
        rules.parse_detected_at("2026-03-02T08:00:00", DETECTED)  # no time zone
    assert rules.parse_detected_at(DETECTED.isoformat(), DETECTED) == DETECTED


def test_categories_come_from_the_annex() -> None:
    assert rules.parse_categories(["email", "email", "identity"]) == ["email", "identity"]
    for bad in ([], ["password"], "email"):
        with pytest.raises(RuleError):
            rules.parse_categories(bad)


def test_scopes() -> None:
    s = rules.parse_scope({"kind": "networks", "ids": [NET],
                           "changed_from": "2026-01-01T00:00:00+00:00"})
    assert s.for_leads(["email"]) == {"kind": "networks", "network_ids": [NET], "user_ids": [],
                                      "changed_from": "2026-01-01T00:00:00+00:00",
                                      "changed_to": None, "data_categories": ["email"]}
    assert rules.parse_scope({"kind": "all"}).ids == ()
    for bad in ({"kind": "galaxy"}, {"kind": "networks"}, {"kind": "users", "ids": ["x"]},
                {"kind": "all", "ids": [NET]},
                {"kind": "all", "changed_from": "2026-02-01T00:00:00+00:00",
                 "changed_to": "2026-01-01T00:00:00+00:00"}, "all"):
        with pytest.raises(RuleError):
            rules.parse_scope(bad)


def test_scope_answers_are_checked() -> None:
    assert rules.parse_scope_answer([{"user_id": "u", "network_id": NET, "persons": 3,
                                      "records": 5}]) == [
        {"user_id": "u", "network_id": NET, "persons": 3, "records": 5}]
    for bad in ({}, [{"user_id": "u", "persons": -1, "records": 0}], [{"persons": 1}]):
        with pytest.raises(ValueError):
            rules.parse_scope_answer(bad)


def test_the_notice_says_what_the_annex_asks_in_french() -> None:
    subject, text = rules.notice_text(breach(), {"persons": 12, "records": 30}, 1,
                                      rules.Dpo("Claire Dupont", "dpo@suivi.test"), None,
                                      "https://app/breaches/1")
    assert subject == "Violation de données personnelles vous concernant"
    for expected in ("Accès non autorisé à une sauvegarde", "adresse email",
                     "numéro de téléphone fixe et mobile", "personnes concernées : 12",
                     "enregistrements concernés : 30", "Hameçonnage possible", "Clés changées",
                     "Claire Dupont – dpo@suivi.test", "05/03/2026 à 09:00",
                     "https://app/breaches/1"):
        assert expected in text


def test_a_follow_up_carries_what_is_new() -> None:
    subject, text = rules.notice_text(breach(), {"persons": 1, "records": 1}, 2,
                                      rules.Dpo("", ""), "Périmètre confirmé", "u", first=False)
    assert subject.endswith("information complémentaire n° 1")
    assert "Nouvelles informations :\nPérimètre confirmé" in text


def test_the_authority_record_holds_article_33_3() -> None:
    approved = DETECTED + timedelta(hours=80)
    record = rules.authority_record(
        breach(), {"user_id": "u1", "network_id": NET, "persons": 12, "records": 30}, [],
        rules.Dpo("Claire Dupont", "dpo@suivi.test"), "Suivi", approved, True,
        DETECTED + timedelta(hours=1))
    assert record["approximate_persons"] == 12 and record["approximate_records"] == 30
    assert [c["code"] for c in record["data_categories"]] == ["email", "phone"]
    assert record["dpo"] == {"name": "Claire Dupont", "email": "dpo@suivi.test"}
    assert record["likely_consequences"] and record["measures_taken"] and record["nature"]
    assert record["timeline"]["within_72_hours"] is False
    assert record["timeline"]["reasons_for_delay_required"] is True
    assert record["subjects_to_be_notified"] is True
