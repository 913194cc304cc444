"""Data-subject tasks (``usecases.subjects``) against a migrated database: the person is
found through blind indexes only, in stock and in every office, and each kind does what
the processing annex says, once per request."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Table, func, select

from leads.models import (
    contacts,
    leads,
    office_history,
    office_leads,
    office_notes,
    site_consents,
    stock,
    subject_objections,
    subject_tasks,
)
from leads.office_testing import SITE_ID, Harness, SeparateCtx, capture, deliver, raw_lead, user
from leads.usecases import site_capture, subjects
from leads.usecases.capture import capture_batch
from leads.usecases.office import export, mailing, one_lead, queries
from suivi_common import clock
from suivi_common.crypto import PLATFORM_SCOPE
from suivi_common.errors import Conflict, NotFound

EMAIL, PHONE = "jeanne.person@example.fr", "+33612345678"
PERSON = raw_lead(7, email=EMAIL, mobile="06 12 34 56 78", last_name="Person")
OTHER = raw_lead(8)  # lead8@example.fr, another person everywhere the first one is


class FakeCompliance:
    """``dsr_subject`` as compliance answers it while the task is open."""

    def __init__(self, **changes: Any) -> None:
        self.open: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.changes = changes

    def task(self, kind: str, email: str | None = EMAIL, phone: str | None = PHONE,
             attempt: int = 1, request_id: str | None = None) -> dict[str, Any]:
        rid = request_id or str(uuid.uuid4())
        self.open[rid] = {"request_id": rid, "kind": kind, "email": email, "phone": phone,
                          "changes": self.changes or None}
        return {"request_id": rid, "service": "leads", "kind": kind, "attempt": attempt,
                "due_on": "2027-01-01", "email_index": "ab", "phone_index": None}

    def dsr_subject(self, request_id: str) -> dict[str, Any]:
        self.calls += 1
        if request_id not in self.open:
            raise NotFound("No open task of this service on this request")
        return self.open[request_id]


def world(h: Harness) -> dict[str, str]:
    """The person in stock, bought by u1 (net-1), entered by hand by u2 (net-2, phone only
    in common); the other person beside them in each place."""
    ids = {"stock": capture(h, PERSON), "other_stock": capture(h, OTHER)}
    ids["bought"] = deliver(h, owner_id="u1", network_id="net-1", raw=PERSON)
    ids["other_bought"] = deliver(h, owner_id="u1", network_id="net-1", raw=OTHER)
    personal = {k: v for k, v in PERSON.items() if k not in ("email",)}
    ids["personal"] = h.run(one_lead.create_personal, "u2", "net-2",
                            {**personal, "email": "jeanne.at.work@example.org"},
                            actor=user("u2", "net-2"))["id"]
    h.run(one_lead.add_note, "u1", ids["bought"], "Rappeler jeudi", actor=user("u1"))
    return ids


def run(h: Harness, compliance: FakeCompliance, task: dict[str, Any]) -> dict[str, Any] | None:
    """The task handled; the report emitted, None when there is none."""
    return h.run(subjects.handle_task, compliance, task)


def reports(h: Harness) -> list[dict[str, Any]]:
    return h.events_of("dsr_task_reported")


def row(h: Harness, table: Table, lead_id: str) -> Any:
    with h.session() as s:
        return s.execute(select(table).where(table.c.id == uuid.UUID(lead_id))).one()


def test_erasure_finds_every_copy_through_blind_indexes_and_empties_them(h: Harness) -> None:
    ids = world(h)
    compliance = FakeCompliance()
    task = compliance.task("erasure")
    report = run(h, compliance, task)
    assert report is not None and "error" not in report
    # captured copies: stock and the bought one's; office copies: bought and personal
    assert reports(h) == [{"request_id": task["request_id"], "service": "leads", "found": True,
                           "records_affected": 4}]
    for key in ("stock", "bought"):
        captured = row(h, leads, ids[key])
        assert captured.pii is None and captured.email_bidx is None
        assert captured.mobile_bidx is None and captured.erased_at is not None
    for key in ("bought", "personal"):
        office = row(h, office_leads, ids[key])
        assert office.data is None and office.initial_data is None and office.lead_key is None
        assert office.erased_reason == "data_subject_request"
    with h.session() as s:
        assert s.execute(select(func.count()).select_from(stock).where(
            stock.c.lead_id == uuid.UUID(ids["stock"]))).scalar() == 0
        assert s.execute(select(func.count()).select_from(office_notes)).scalar() == 0
        vault = h.vault(s)
        assert s.execute(select(func.count()).select_from(contacts).where(
            contacts.c.digest.in_([vault.blind_index(PLATFORM_SCOPE, "email", EMAIL),
                                   vault.blind_index(PLATFORM_SCOPE, "phone", PHONE)]))
        ).scalar() == 0
        # nothing anywhere still matches the person's identifiers, under any scope
        digests = [vault.blind_index(scope, kind, value)
                   for scope in (PLATFORM_SCOPE, "net-1", "net-2")
                   for kind, value in (("email", EMAIL), ("phone", PHONE))]
        for table in (leads, office_leads):
            assert s.execute(select(func.count()).select_from(table).where(
                table.c.email_bidx.in_(digests) | table.c.mobile_bidx.in_(digests)
                | table.c.landline_bidx.in_(digests))).scalar() == 0
    # the other person is untouched everywhere
    assert row(h, leads, ids["other_stock"]).pii is not None
    assert row(h, office_leads, ids["other_bought"]).data is not None
    # each owner is told (the mailer's lead_erased), and sees a tombstone
    erased = h.events_of("lead_erased")
    assert sorted((e["user_id"], e["reason"]) for e in erased) == [
        ("u1", "data_subject_request"), ("u2", "data_subject_request")]
    view = h.run(one_lead.get, "u1", ids["bought"], actor=user("u1"))
    assert view["erased"] and view["email"] is None
    assert view["tombstone"]["text"] == "erased on the person's request"
    assert view["tombstone"]["erased_on"]


def test_a_retried_erasure_reports_again_without_acting_again(h: Harness) -> None:
    world(h)
    compliance = FakeCompliance()
    task = compliance.task("erasure")
    run(h, compliance, task)
    run(h, compliance, {**task, "attempt": 2})
    assert compliance.calls == 1  # the second attempt did not even ask who
    first, second = reports(h)
    assert first == second and first["records_affected"] == 4
    assert len(h.events_of("lead_erased")) == 2


def test_a_task_for_another_service_or_no_longer_open_does_nothing(h: Harness) -> None:
    world(h)
    compliance = FakeCompliance()
    task = compliance.task("erasure")
    assert run(h, compliance, {**task, "service": "plans"}) is None
    compliance.open.clear()  # compliance closed it meanwhile
    assert run(h, compliance, task) is None
    assert reports(h) == [] and h.events_of("lead_erased") == []


def test_a_task_of_an_unknown_kind_is_reported_failed(h: Harness) -> None:
    compliance = FakeCompliance()
    task = compliance.task("erasure")
    run(h, compliance, {**task, "kind": "forget_me"})
    assert reports(h) == [{"request_id": task["request_id"], "service": "leads", "found": False,
                           "records_affected": 0, "error": "unknown kind 'forget_me'"}]


def test_nobody_found_is_reported_as_not_found(h: Harness) -> None:
    capture(h, OTHER)
    compliance = FakeCompliance()
    task = compliance.task("erasure", email="nobody@example.fr", phone=None)
    run(h, compliance, task)
    assert reports(h)[0]["found"] is False and reports(h)[0]["records_affected"] == 0


def test_an_objection_survives_an_erasure_and_bars_a_new_capture(h: Harness) -> None:
    ids = world(h)
    compliance = FakeCompliance()
    run(h, compliance, compliance.task("objection"))
    assert reports(h)[-1]["found"] is True
    with h.session() as s:
        assert s.execute(select(func.count()).select_from(stock).where(
            stock.c.lead_id == uuid.UUID(ids["stock"]))).scalar() == 0  # off sale
        assert s.execute(select(leads.c.withdrawn_at).where(
            leads.c.id == uuid.UUID(ids["stock"]))).scalar() is not None
    run(h, compliance, compliance.task("erasure"))
    with h.session() as s:
        kept = s.execute(select(subject_objections.c.kind)).scalars().all()
        assert sorted(kept) == ["email", "phone"]  # blind indexes only
        outcome = capture_batch(s, h.vault(s), SITE_ID, [PERSON], clock.now())
        s.rollback()
    assert outcome.results[0]["status"] == "rejected"
    assert "contact" in outcome.results[0]["errors"]


def test_rectification_changes_every_copy_with_history(h: Harness) -> None:
    ids = world(h)
    compliance = FakeCompliance(last_name="Durand", email="jeanne.durand@example.fr",
                                phone="06 98 76 54 32")
    task = compliance.task("rectification")
    run(h, compliance, task)
    assert reports(h)[-1]["records_affected"] == 4 and "error" not in reports(h)[-1]
    bought = h.run(one_lead.get, "u1", ids["bought"], actor=user("u1"))
    assert (bought["last_name"], bought["email"], bought["mobile"]) == (
        "Durand", "jeanne.durand@example.fr", "+33698765432")
    assert bought["initial"]["last_name"] == "Durand"  # the copy as delivered, rectified too
    personal = h.run(one_lead.get, "u2", ids["personal"], actor=user("u2", "net-2"))
    assert personal["email"] == "jeanne.at.work@example.org"  # not the person's old address
    assert (personal["last_name"], personal["mobile"]) == ("Durand", "+33698765432")
    entries = h.run(one_lead.lead_history, "u1", ids["bought"], None, 50, actor=user("u1"))
    changed = {e["field"]: (e["old"], e["new"], e["source"])
               for e in entries["items"] if e["via"] == "rectification"}
    assert set(changed) == {"last_name", "email", "mobile"}
    assert changed["last_name"] == ("Person", "Durand", "system")
    assert bought["edited_by_user"] is False  # a rectification bars no refund
    # the owner finds the person by the new address; the old one finds nothing
    found = h.run(queries.list_leads, "u1", "net-1", {"email": "jeanne.durand@example.fr"},
                  None, None, 50, actor=user("u1"))
    assert [i["id"] for i in found["items"]] == [ids["bought"]]
    # and so does the next request (the captured copies carry the new indexes)
    again = FakeCompliance()
    run(h, again, again.task("access", email="jeanne.durand@example.fr", phone=None))
    data = reports(h)[-1]["data"]
    assert {c["lead_id"] for c in data["captured"]} == {ids["stock"], ids["bought"]}
    assert {c["record"]["last_name"] for c in data["captured"]} == {"Durand"}


def test_a_rectified_address_leaves_a_copy_holding_another_one_alone(h: Harness) -> None:
    ids = world(h)
    compliance = FakeCompliance(email="jeanne.durand@example.fr")
    run(h, compliance, compliance.task("rectification"))
    assert reports(h)[-1]["records_affected"] == 3 and "error" not in reports(h)[-1]
    personal = h.run(one_lead.get, "u2", ids["personal"], actor=user("u2", "net-2"))
    assert personal["email"] == "jeanne.at.work@example.org"


def test_an_invalid_rectification_changes_nothing_and_reports_why(h: Harness) -> None:
    ids = world(h)
    compliance = FakeCompliance(email="not an address")
    run(h, compliance, compliance.task("rectification"))
    report = reports(h)[-1]
    assert report["records_affected"] == 0 and "email" in report["error"]
    assert h.run(one_lead.get, "u1", ids["bought"], actor=user("u1"))["email"] == EMAIL
    with h.session() as s:
        assert s.execute(select(func.count()).select_from(office_history).where(
            office_history.c.via == "rectification")).scalar() == 0


def test_restriction_keeps_the_data_but_stops_its_processing(h: Harness) -> None:
    ids = world(h)
    compliance = FakeCompliance()
    run(h, compliance, compliance.task("restriction"))
    assert reports(h)[-1]["records_affected"] == 4
    bought = row(h, office_leads, ids["bought"])
    assert bought.data is not None and bought.restricted_at is not None  # kept
    with h.session() as s:  # not sold
        assert s.execute(select(func.count()).select_from(stock).where(
            stock.c.lead_id == uuid.UUID(ids["stock"]))).scalar() == 0
    with pytest.raises(Conflict) as refused:  # not edited
        h.run(one_lead.update_lead, "u1", ids["bought"], {"city": "Lyon"}, actor=user("u1"))
    assert refused.value.code == "lead_restricted"
    with pytest.raises(NotFound):  # not e-mailed (the mailer's look-up)
        h.run(mailing.contact, ids["bought"])
    listing = h.run(queries.list_leads, "u1", "net-1", None, None, None, 50, actor=user("u1"))
    shown = {i["id"]: i["restricted"] for i in listing["items"]}
    assert shown == {ids["bought"]: True, ids["other_bought"]: False}  # shown restricted
    job = h.run(export.start, "u1", "net-1", None, "csv", "en", actor=user("u1"))
    assert job["rows"] == 1  # not exported: only the other person


def test_access_and_portability_report_what_leads_holds(h: Harness) -> None:
    ids = world(h)
    compliance = FakeCompliance()
    run(h, compliance, compliance.task("access"))
    data = reports(h)[-1]["data"]
    assert reports(h)[-1]["records_affected"] == 4
    assert {c["lead_id"] for c in data["captured"]} == {ids["stock"], ids["bought"]}
    office = {o["lead_id"]: o for o in data["office"]}
    assert set(office) == {ids["bought"], ids["personal"]}
    assert office[ids["bought"]]["controller_id"] == "u1"
    assert [n["text"] for n in office[ids["bought"]]["notes"]] == ["Rappeler jeudi"]
    assert office[ids["bought"]]["record"]["email"] == EMAIL
    assert data["objection_recorded"] is False
    run(h, compliance, compliance.task("portability"))
    portable = reports(h)[-1]["data"]
    assert set(portable["office"][0]) == {"lead_id", "record"}  # the records only
    # a read is read again on a retry, and changes nothing
    assert row(h, office_leads, ids["bought"]).data is not None


def test_the_owner_deleting_a_lead_takes_its_captured_copy_and_tells_the_mailer(h: Harness) -> None:
    ids = world(h)
    h.run(one_lead.delete_lead, "u1", ids["bought"], actor=user("u1"))
    assert row(h, leads, ids["bought"]).pii is None
    event = h.events_of("office_leads_erased")[-1]
    assert event["lead_ids"] == [ids["bought"]] and event["reason"] == "owner"
    assert event["user_id"] == "u1" and h.events_of("lead_erased") == []


def test_a_retried_failed_task_reports_the_same_failure_without_acting(h: Harness) -> None:
    world(h)
    compliance = FakeCompliance(email="not an address")
    task = compliance.task("rectification")
    run(h, compliance, task)
    run(h, compliance, {**task, "attempt": 2})
    first, second = reports(h)
    assert first == second and "email" in first["error"]
    assert compliance.calls == 1  # reported again from the record: not asked who again
    with h.session() as s:
        assert s.execute(select(subject_tasks.c.attempts)).scalar_one() == 2


NOTICE = "Vos données servent à vous recontacter. Droits : contact@exemple.fr"


def visit(h: Harness, owner: str, email: str, version: str = "v3") -> str:
    """A visitor fills in the form of ``owner``'s brochure site; the lead's id."""
    return h.run(site_capture.capture_from_site, SeparateCtx(h.engine).separate,
                 lambda user_id: None, owner_id=owner, network_id="net-1",
                 kind="construction", page_id="page-1",
                 fields={"first_name": "Jeanne", "last_name": "Person", "email": email,
                         "postal_code": "75011", "city": "Paris", "country": "FR"},
                 notice_text=NOTICE, notice_version=version,
                 source_url=f"https://suivi.example/s/{owner}/opportunite",
                 client_ip="203.0.113.9")["lead_id"]


def consents_of(h: Harness, lead_id: str) -> int:
    with h.session() as s:
        return int(s.execute(select(func.count()).select_from(site_consents).where(
            site_consents.c.lead_id == uuid.UUID(lead_id))).scalar_one())


def test_a_site_visitor_erased_by_email_loses_their_lead_and_consent_proofs(h: Harness) -> None:
    clock.freeze(clock.now())
    mine = visit(h, "u1", EMAIL)
    assert visit(h, "u1", EMAIL, version="v4") == mine  # again: a duplicate, a 2nd consent
    theirs = visit(h, "u2", EMAIL)  # the same person on another member's site
    other = visit(h, "u1", "someone.else@example.fr")
    assert (consents_of(h, mine), consents_of(h, theirs)) == (2, 1)
    compliance = FakeCompliance()
    task = compliance.task("erasure", phone=None)
    run(h, compliance, task)
    # two office copies, three consent proofs
    assert reports(h)[-1] == {"request_id": task["request_id"], "service": "leads",
                              "found": True, "records_affected": 5}
    for lead_id in (mine, theirs):
        office = row(h, office_leads, lead_id)
        assert office.data is None and office.email_bidx is None
        assert office.erased_reason == "data_subject_request"
        assert consents_of(h, lead_id) == 0
        assert h.run(one_lead.get, office.owner_id, lead_id,
                     actor=user(office.owner_id))["site_consents"] == []
    assert consents_of(h, other) == 1 and row(h, office_leads, other).data is not None
    # found again, nothing is left of the person: the retry reports the same, acts not
    run(h, compliance, {**task, "attempt": 2})
    assert reports(h)[-1]["records_affected"] == 5


def test_access_reports_a_site_visitors_consents(h: Harness) -> None:
    clock.freeze(clock.now())
    lead_id = visit(h, "u1", EMAIL)
    compliance = FakeCompliance()
    run(h, compliance, compliance.task("access", phone=None))
    office = {o["lead_id"]: o for o in reports(h)[-1]["data"]["office"]}
    [consent] = office[lead_id]["site_consents"]
    assert (consent["notice_text"], consent["notice_version"], consent["kind"],
            consent["page_id"]) == (NOTICE, "v3", "construction", "page-1")
    assert consent["source_url"] == "https://suivi.example/s/u1/opportunite"
    assert consent["consented_at"] == clock.now().isoformat()
    run(h, compliance, compliance.task("portability", phone=None))
    assert set(reports(h)[-1]["data"]["office"][0]) == {"lead_id", "record"}
    assert consents_of(h, lead_id) == 1  # a read changes nothing
