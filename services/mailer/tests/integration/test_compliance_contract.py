"""The mailer's part of compliance's contract (services/compliance/README.md), on a real
broker, database and SMTP server: breach notices (one email per breach, controller and
stage, reported ``sent`` or ``failed``), sub-processor notices (every controller, once),
the data-subject task (found through the mailer's own indexes, done once, reported) and
the data map (services only)."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from mailer.domain import compliance_notices as rules
from mailer.models import email_oppositions, lead_emails, notice_recipients, sent_emails
from suivi_common.auth import Principal
from suivi_common.errors import Forbidden, Unauthorized
from suivi_common.rpc import RpcClient

TEXT = ("Madame, Monsieur,\n\nNous avons détecté une violation de données.\n\n"
        "Donnez vos instructions : https://app.suivi.test/breaches/{id}\n")


def breach_event(user: Principal, breach_id: str, stage: int = 1, **over: Any) -> dict[str, Any]:
    return {"breach_id": breach_id, "user_id": user.user_id, "network_id": user.network_id,
            "stage": stage, "kind": "initial" if stage == 1 else "update",
            "subject": f"Violation de données : notification (étape {stage})",
            "text": TEXT.format(id=breach_id), "nature": "n", "data_categories": [],
            "persons": 3, "records": 4, "likely_consequences": "c", "measures_taken": "m",
            "dpo": {"name": "DPO", "email": "dpo@suivi.test"},
            "detected_at": "2026-12-01T08:00:00+00:00",
            "deadline_at": "2026-12-04T08:00:00+00:00",
            "approval_url": f"https://app.suivi.test/breaches/{breach_id}", **over}


def address_of(user: Principal, users: dict[str, dict[str, Any]]) -> str:
    return str(users[user.user_id]["email"])


# --- breaches --------------------------------------------------------------------------------

def test_a_breach_notice_reaches_its_controller_once_per_stage_and_is_reported_sent(
        new_office, compliance, live_mailer, users, until, read_rows) -> None:
    office = new_office()
    user = office.member("Lea")
    to = address_of(user, users)
    breach_id = str(uuid.uuid4())
    first = compliance.publish("breach_notice_requested", breach_event(user, breach_id))
    compliance.publish("breach_notice_requested", breach_event(user, breach_id), first)  # again
    compliance.publish("breach_notice_requested", breach_event(user, breach_id))  # re-requested
    [got] = until(lambda: live_mailer.smtp.to(to), what="the notice")
    assert got.message["Subject"] == "Violation de données : notification (étape 1)"
    body = got.message.get_body(("plain",)).get_content()
    assert f"https://app.suivi.test/breaches/{breach_id}" in body
    html = got.message.get_body(("html",)).get_content()
    assert f'<a href="https://app.suivi.test/breaches/{breach_id}">' in html
    key = rules.recipient_key(rules.BREACH, breach_id, user.user_id, 1)
    assert got.message["Message-ID"] == f"<{key}.breach_notice@suivi.test>"
    compliance.publish("breach_notice_requested", breach_event(user, breach_id, stage=2))
    until(lambda: len(live_mailer.smtp.to(to)) == 2, what="the second stage")
    until(live_mailer.settled)
    assert len(live_mailer.smtp.to(to)) == 2
    reports = until(lambda: len(compliance.notices(breach_id)) >= 3 and compliance.notices(breach_id))
    assert {(r["stage"], r["status"], r["user_id"]) for r in reports} == {
        (1, "sent", user.user_id), (2, "sent", user.user_id)}
    [ledger] = read_rows(live_mailer.db_url, sent_emails, sent_emails.c.message_id == str(key))
    assert ledger["kind"] == "breach_notice" and ledger["state"] == "sent"
    assert ledger["user_id"] == user.user_id
    [row] = read_rows(live_mailer.db_url, notice_recipients, notice_recipients.c.id == key)
    assert row["status"] == "sent" and row["attempts"] == 0


def test_no_address_or_no_user_is_reported_failed_and_nothing_is_sent(
        new_office, compliance, live_mailer, users, until, read_rows) -> None:
    office = new_office()
    silent = office.member("Sans")
    users[silent.user_id]["email"] = ""
    ghost = Principal(str(uuid.uuid4()), "user", office.network_id)
    breach_id = str(uuid.uuid4())
    sent_before = len(live_mailer.smtp.received)
    for who in (silent, ghost):
        compliance.publish("breach_notice_requested", breach_event(who, breach_id))
    reports = until(lambda: len(compliance.notices(breach_id)) == 2 and compliance.notices(breach_id))
    assert {(r["user_id"], r["status"]) for r in reports} == {(silent.user_id, "failed"),
                                                              (ghost.user_id, "failed")}
    rows = read_rows(live_mailer.db_url, notice_recipients, notice_recipients.c.ref_id == breach_id)
    assert sorted(r["reason"] for r in rows) == ["no_address", "no_user"]
    until(live_mailer.settled)
    assert len(live_mailer.smtp.received) == sent_before


def test_a_send_failing_to_the_last_attempt_is_reported_failed_then_a_replay_sends_it(
        new_office, compliance, live_mailer, users, until, staff) -> None:
    office = new_office()
    user = office.member("Refus")
    to = address_of(user, users)
    live_mailer.smtp.refuse_rcpt.add(to)
    breach_id = str(uuid.uuid4())
    mid = compliance.publish("breach_notice_requested", breach_event(user, breach_id))
    [report] = until(lambda: compliance.notices(breach_id), what="the failure reported")
    assert report["status"] == "failed"
    with RpcClient(live_mailer.cfg["AMQP_URI"], principal=staff) as rpc:
        [letter] = until(lambda: [lt for lt in rpc.mailer.list_dead_letters()
                                  if lt["message_id"] == mid], what="the dead letter")
        assert letter["attempts"] == 4 and len(compliance.notices(breach_id)) == 1
        live_mailer.smtp.refuse_rcpt.discard(to)
        rpc.mailer.replay_dead_letter(letter["id"])
    until(lambda: live_mailer.smtp.to(to), what="the replayed notice")
    reports = until(lambda: len(compliance.notices(breach_id)) == 2 and compliance.notices(breach_id))
    assert [r["status"] for r in reports] == ["failed", "sent"]


# --- sub-processors --------------------------------------------------------------------------

def change_event(change_id: str) -> dict[str, Any]:
    return {"change_id": change_id, "kind": "add",
            "subprocessor": {"id": "sp", "name": "Hébergeur", "contact": "c", "activity": "a",
                             "country": "FR", "contract_start": "2027-01-01",
                             "contract_end": None},
            "replaces": None, "notice_sent_at": "2026-12-01T09:00:00+00:00",
            "effective_from": "2026-12-31", "objection_url": "https://app.suivi.test/s/1",
            "subject": "Changement de sous-traitant ultérieur",
            "text": "Bonjour,\n\nUn nouveau sous-traitant : Hébergeur.\n"}


def test_a_subprocessor_change_reaches_every_controller_once(
        new_office, compliance, live_mailer, users, until, read_rows) -> None:
    office = new_office()
    a, b = office.member("Anne"), office.member("Basile")
    gone = Principal(str(uuid.uuid4()), "user", office.network_id)  # listed, unknown since
    for who in (a, b, gone):
        compliance.controller(who)
    change_id = str(uuid.uuid4())
    mid = compliance.publish("subprocessor_change_announced", change_event(change_id))
    compliance.publish("subprocessor_change_announced", change_event(change_id), mid)
    compliance.publish("subprocessor_change_announced", change_event(change_id))  # again
    for who in (a, b):
        [got] = until(lambda w=who: live_mailer.smtp.to(address_of(w, users)))
        assert got.message["Subject"] == "Changement de sous-traitant ultérieur"
        assert "Un nouveau sous-traitant" in got.message.get_body(("plain",)).get_content()
    until(live_mailer.settled)
    assert [len(live_mailer.smtp.to(address_of(w, users))) for w in (a, b)] == [1, 1]
    rows = {r["user_id"]: r for r in read_rows(
        live_mailer.db_url, notice_recipients, notice_recipients.c.ref_id == change_id)}
    assert {u: (r["status"], r["reason"]) for u, r in rows.items()} == {
        a.user_id: ("sent", None), b.user_id: ("sent", None), gone.user_id: ("failed", "no_user")}


# --- data-subject requests -------------------------------------------------------------------

def sent_to(office: Any, lead: dict[str, Any], until: Any, subject: str = "Bonjour") -> None:
    before = len(office.mails_to(lead))
    with office.rpc() as rpc:
        rpc.mailer.send_lead_email(lead["lead_id"], None, subject, "Texte pour vous")
    until(lambda: len(office.mails_to(lead)) > before)
    until(lambda: all(r["status"] == "sent" for r in office.emails_of(lead)))


def test_access_finds_the_person_by_the_mailer_indexes_and_reports_the_data(
        new_office, compliance, until) -> None:
    office = new_office()
    lead = office.lead(email="Person.Access@Example.test")
    sent_to(office, lead, until)
    rid = compliance.task("access", "person.access@example.test")
    [report] = until(lambda: compliance.reports(rid), what="the report")
    assert report["service"] == "mailer" and report["found"] is True
    assert report["records_affected"] == 1 and "error" not in report
    [email] = report["data"]["emails"]
    assert email["to"] == "Person.Access@Example.test" and email["subject"] == "Bonjour"
    assert email["owner_id"] == office.user.user_id and email["status"] == "sent"
    assert report["data"]["oppositions"] == []
    [asker] = compliance.asked(rid)
    assert asker is not None and asker.user_id == "mailer" and asker.is_service


def test_a_task_of_another_service_or_no_longer_open_does_nothing(
        new_office, compliance, live_mailer, until) -> None:
    rid = str(uuid.uuid4())
    compliance.publish("dsr_task_requested", {"request_id": rid, "service": "leads",
                                              "kind": "access", "attempt": 1})
    closed = compliance.task("erasure", "nobody@example.test", open_=False)
    nobody = compliance.task("access", "nobody@example.test")
    until(lambda: compliance.reports(nobody))
    until(live_mailer.settled)
    assert compliance.asked(rid) == [] and compliance.reports(rid) == []
    assert len(compliance.asked(closed)) == 1 and compliance.reports(closed) == []
    [report] = compliance.reports(nobody)
    assert report["found"] is False and report["records_affected"] == 0
    assert report["data"] == {"emails": [], "oppositions": []}


def test_erasure_leaves_a_tombstone_once_and_a_repeated_task_reports_the_same(
        new_office, compliance, live_mailer, until, read_rows) -> None:
    office = new_office()
    lead = office.lead()
    sent_to(office, lead, until)
    sent_to(office, lead, until, subject="Relance")
    rid = compliance.task("erasure", lead["email"])
    [report] = until(lambda: compliance.reports(rid))
    assert (report["found"], report["records_affected"], "data" in report) == (True, 2, False)
    rows = office.emails_of(lead)
    assert len(rows) == 2 and all(r["erased_at"] is not None for r in rows)
    assert {r["status"] for r in rows} == {"sent"}  # what happened stays
    assert all(r[c] is None for r in rows for c in ("to_address", "to_bidx", "subject",
                                                     "body_text", "body_html"))
    with RpcClient(live_mailer.cfg["AMQP_URI"], service="leads") as rpc:
        assert rpc.mailer.lead_email_history(lead["lead_id"]) == []
    compliance.task("erasure", lead["email"], request_id=rid, attempt=2)  # asked again
    until(lambda: len(compliance.reports(rid)) == 2)
    assert compliance.reports(rid)[1] == report and len(compliance.asked(rid)) == 1


def test_objection_goes_on_every_owners_list_and_blocks_their_emails(
        new_office, compliance, live_mailer, until, read_rows) -> None:
    office = new_office()
    other = new_office("Réseau Sud")
    lead = office.lead()
    theirs = other.lead(email=lead["email"])  # the same person, another owner's lead
    sent_to(office, lead, until)
    for who in (office.user, other.user, office.admin):
        compliance.controller(who)
    owners_known = {(r["owner_id"], r["network_id"])  # every owner the history names
                    for r in read_rows(live_mailer.db_url, lead_emails)}
    owners_known |= {(w.user_id, w.network_id) for w in (office.user, other.user, office.admin)}
    rid = compliance.task("objection", lead["email"].upper())
    [report] = until(lambda: compliance.reports(rid))
    assert report["found"] is True
    assert report["records_affected"] == len(owners_known)  # one new list entry per owner
    owners = {r["owner_id"] for r in read_rows(live_mailer.db_url, email_oppositions,
                                               email_oppositions.c.owner_id.in_(
                                                   [office.user.user_id, other.user.user_id,
                                                    office.admin.user_id]))}
    assert owners == {office.user.user_id, other.user.user_id, office.admin.user_id}
    with office.rpc() as rpc:
        assert rpc.mailer.send_lead_email(lead["lead_id"], None, "Encore", "T")["status"] \
            == "blocked_opposition"
    with other.rpc() as rpc:
        assert rpc.mailer.lead_email_opposition(theirs["lead_id"])["opposed"] is True
    rows = read_rows(live_mailer.db_url, email_oppositions,
                     email_oppositions.c.owner_id == office.user.user_id)
    assert all(set(r) == {"owner_id", "address_bidx", "recorded_at"} for r in rows)


def test_restriction_marks_the_rows_and_rectification_moves_them_to_the_new_address(
        new_office, compliance, live_mailer, until) -> None:
    office = new_office()
    lead = office.lead()
    sent_to(office, lead, until)
    restricted = compliance.task("restriction", lead["email"])
    [report] = until(lambda: compliance.reports(restricted))
    assert (report["found"], report["records_affected"]) == (True, 1)
    [row] = office.emails_of(lead)
    assert row["restricted_at"] is not None
    new = f"new.{uuid.uuid4().hex[:8]}@example.test"
    fixed = compliance.task("rectification", lead["email"], changes={"email": new})
    [report] = until(lambda: compliance.reports(fixed))
    assert (report["found"], report["records_affected"]) == (True, 1)
    with RpcClient(live_mailer.cfg["AMQP_URI"], service="leads") as rpc:
        [email] = rpc.mailer.lead_email_history(lead["lead_id"])
    assert email["to"] == new
    old_again = compliance.task("access", lead["email"])
    new_again = compliance.task("access", new.upper())
    assert until(lambda: compliance.reports(old_again))[0]["found"] is False
    assert until(lambda: compliance.reports(new_again))[0]["records_affected"] == 1
    invalid = compliance.task("rectification", new, changes={"email": "not an address"})
    [report] = until(lambda: compliance.reports(invalid))
    assert report["error"] and report["records_affected"] == 0


# --- the data map ----------------------------------------------------------------------------

def test_the_data_map_answers_services_only(live_mailer) -> None:
    uri = live_mailer.cfg["AMQP_URI"]
    with RpcClient(uri, service="compliance") as rpc:
        answer = rpc.mailer.data_map()
    assert answer["service"] == "mailer" and answer["format_version"] == 1
    assert {a["role"] for a in answer["activities"]} == {"processor", "controller"}
    with RpcClient(uri, principal=Principal(str(uuid.uuid4()), "admin", "n")) as rpc, \
            pytest.raises(Forbidden):
        rpc.mailer.data_map()
    with RpcClient(uri) as rpc, pytest.raises(Unauthorized):
        rpc.mailer.data_map()

