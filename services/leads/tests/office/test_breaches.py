"""Breaches (``usecases.breaches``): the per-controller count compliance asks for, and the
notice to the persons of one controller once approved."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from leads.office_testing import Harness, deliver, raw_lead, user
from leads.usecases import breaches, subjects
from leads.usecases.office import one_lead
from suivi_common import clock
from suivi_common.errors import NotFound


def scope(kind: str, **kw: Any) -> dict[str, Any]:
    return {"kind": kind, "network_ids": kw.get("network_ids", []),
            "user_ids": kw.get("user_ids", []), "changed_from": kw.get("changed_from"),
            "changed_to": kw.get("changed_to"), "data_categories": kw.get("categories", [])}


def count(h: Harness, raw_scope: dict[str, Any]) -> list[dict[str, Any]]:
    with h.session() as s:
        return breaches.breach_scope(s, raw_scope)


@pytest.fixture
def two_networks(h: Harness) -> dict[str, str]:
    """net-1: u1 (two leads, one with a note), u4 (one lead, then erased); net-2: u2 and
    u3 (one lead each, u3's bought twice the same person: two persons all the same)."""
    start = clock.now()
    clock.freeze(start - timedelta(days=10))
    ids = {"a": deliver(h, owner_id="u1", network_id="net-1", i=1),
           "b": deliver(h, owner_id="u1", network_id="net-1", i=2),
           "c": deliver(h, owner_id="u2", network_id="net-2", i=3),
           "d": deliver(h, owner_id="u3", network_id="net-2", i=4),
           "e": deliver(h, owner_id="u4", network_id="net-1", i=5)}
    h.run(one_lead.erase, ids["e"])
    clock.freeze(start)
    h.run(one_lead.add_note, "u1", ids["a"], "Rappeler", actor=user("u1"))
    return ids


def test_a_breach_of_one_network_counts_its_controllers_only(h: Harness,
                                                             two_networks: dict[str, str]) -> None:
    assert count(h, scope("networks", network_ids=["net-1"])) == [
        {"user_id": "u1", "network_id": "net-1", "persons": 2, "records": 3}]  # 2 leads, 1 note
    assert count(h, scope("networks", network_ids=["net-2"])) == [
        {"user_id": "u2", "network_id": "net-2", "persons": 1, "records": 1},
        {"user_id": "u3", "network_id": "net-2", "persons": 1, "records": 1}]
    assert [r["user_id"] for r in count(h, scope("all"))] == ["u1", "u2", "u3"]  # u4: erased
    assert count(h, scope("users", user_ids=["u3", "nobody"])) == [
        {"user_id": "u3", "network_id": "net-2", "persons": 1, "records": 1}]
    assert count(h, scope("networks", network_ids=["net-9"])) == []


def test_categories_and_the_window_narrow_the_records(h: Harness, two_networks: dict[str, str]) -> None:
    assert count(h, scope("all", categories=["comments"])) == [
        {"user_id": "u1", "network_id": "net-1", "persons": 1, "records": 1}]
    assert count(h, scope("all", categories=["electronic_exchanges"])) == []
    # in the last day only the note (and the history entry it wrote on its lead) changed
    since = (clock.now() - timedelta(days=1)).isoformat()
    assert count(h, scope("all", changed_from=since)) == [
        {"user_id": "u1", "network_id": "net-1", "persons": 1, "records": 2}]
    until = (clock.now() - timedelta(days=5)).isoformat()
    assert [r["user_id"] for r in count(h, scope("all", changed_to=until))] == ["u1", "u2", "u3"]


def notice(user_id: str, raw_scope: dict[str, Any], breach_id: str = "b-1") -> dict[str, Any]:
    return {"breach_id": breach_id, "user_id": user_id, "network_id": "net-1",
            "scope": raw_scope, "subject": "Violation de données", "text": "Madame, Monsieur…",
            "dpo": {"name": "DPO", "email": "dpo@example.fr"}}


def test_the_approved_notice_mails_each_person_of_that_controller_once(h: Harness,
                                                                       two_networks: dict[str, str]) -> None:
    ids = two_networks
    raw = scope("networks", network_ids=["net-1", "net-2"])
    assert h.run(breaches.request_subject_notices, notice("u1", raw)) == 2
    mails = h.events_of("breach_subject_mail_requested")
    assert sorted(m["lead_id"] for m in mails) == sorted([ids["a"], ids["b"]])  # u1's only
    assert all(m["subject"] == "Violation de données" and "email" not in m for m in mails)
    assert h.run(breaches.request_subject_notices, notice("u1", raw)) == 0  # redelivered
    contact = h.run(breaches.subject_contact, "b-1", ids["a"])
    assert contact["email"] == "lead1@example.fr" and contact["user_id"] == "u1"
    with pytest.raises(NotFound):  # not requested for this breach
        h.run(breaches.subject_contact, "b-1", ids["c"])
    with pytest.raises(NotFound):
        h.run(breaches.subject_contact, "b-2", ids["a"])


def test_a_person_erased_since_the_request_is_not_mailed(h: Harness, two_networks: dict[str, str]) -> None:
    ids = two_networks
    h.run(breaches.request_subject_notices, notice("u1", scope("all")))
    h.run(one_lead.erase, ids["a"])
    with pytest.raises(NotFound):
        h.run(breaches.subject_contact, "b-1", ids["a"])


def test_one_mail_per_address_of_a_controller(h: Harness) -> None:
    person = raw_lead(1)
    copies = {deliver(h, owner_id="u1", raw=person),
              deliver(h, owner_id="u1", raw={**person, "last_name": "Autre"})}
    assert h.run(breaches.request_subject_notices, notice("u1", scope("all"))) == 1
    assert h.events_of("breach_subject_mail_requested")[0]["lead_id"] in copies


def test_a_restricted_person_is_still_notified(h: Harness, two_networks: dict[str, str]) -> None:
    ids = two_networks

    class Compliance:
        def dsr_subject(self, request_id: str) -> dict[str, Any]:
            return {"request_id": request_id, "kind": "restriction",
                    "email": "lead2@example.fr", "phone": None}

    h.run(subjects.handle_task, Compliance(), {"request_id": "r-1", "service": "leads",
                                              "kind": "restriction", "attempt": 1})
    h.run(breaches.request_subject_notices, notice("u1", scope("all")))
    assert h.run(breaches.subject_contact, "b-1", ids["b"])["email"] == "lead2@example.fr"
