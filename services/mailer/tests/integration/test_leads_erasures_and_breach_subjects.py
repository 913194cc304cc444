"""Leads' two requests about an office's leads, on a real broker, database and SMTP server:
``office_leads_erased`` (the owner deleted them, or retention) drops their email history and
what waits to go, and mails no one; ``breach_subject_mail_requested`` sends one art. 34
email per breach and person, to the address leads gives (``breach_subject_contact``, asked
as the mailer), the opposition list notwithstanding, and records a person leads no longer
knows as not sent."""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from mailer.domain import breach_subjects as rules
from suivi_common import clock
from suivi_common.events import example
from suivi_common.rpc import RpcClient

TEXT = ("Madame, Monsieur,\n\nVos coordonnées ont pu être consultées par un tiers.\n\n"
        "Pour toute question : DPO <dpo@suivi.test>.\n")


def owner_mails(office, users) -> list[Any]:
    return office.live.smtp.to(users[office.user.user_id]["email"])


def sent_rows(office, lead) -> list[dict[str, Any]]:
    return [r for r in office.emails_of(lead) if r["status"] == "sent"]


def request(office, lead, breach_id: str, message_id: str | None = None, **over: Any) -> str:
    payload = example("breach_subject_mail_requested", breach_id=breach_id,
                      user_id=lead["owner_id"], network_id=office.network_id,
                      lead_id=lead["lead_id"], subject="Violation de vos données",
                      text=TEXT, dpo={"name": "DPO", "email": "dpo@suivi.test"}, **over)
    return office.live.publish_as("leads", "breach_subject_mail_requested", payload, message_id)


# --- office_leads_erased ---------------------------------------------------------------------

def test_leads_an_office_let_go_lose_their_history_and_waiting_emails_and_no_one_is_mailed(
        new_office, until, live_mailer, users) -> None:
    office = new_office()
    office.automation("meeting", office.template()["id"], delay_hours=1)
    deleted, expired, kept = office.lead(), office.lead(), office.lead()
    with office.rpc() as rpc:
        for lead in (deleted, expired, kept):
            rpc.mailer.send_lead_email(lead["lead_id"], None, "s", "b")
    until(lambda: all(sent_rows(office, x) for x in (deleted, expired, kept)))
    office.move(deleted, "meeting")  # an automation waits an hour
    until(lambda: [r for r in office.emails_of(deleted) if r["status"] == "scheduled"])

    first = office.erase_batch([deleted, expired])
    office.erase_batch([deleted, expired], message_id=first)  # redelivered
    office.erase_batch([deleted], reason="retention")  # announced again by another batch
    until(lambda: office.emails_of(deleted) == [] and office.emails_of(expired) == [])
    until(live_mailer.settled, what="the erasures handled")
    assert owner_mails(office, users) == []  # not the person's request: no notice
    assert len(office.emails_of(kept)) == 1

    office.move(deleted, "meeting")  # a late change schedules nothing for an erased lead
    clock.advance(timedelta(hours=2))  # what was waiting is gone, not sent
    until(live_mailer.settled)
    assert office.emails_of(deleted) == []
    assert [len(office.mails_to(x)) for x in (deleted, expired)] == [1, 1]

    # the person's own erasure (``lead_erased``) is the one the owner is told of
    office.erase(kept)
    until(lambda: owner_mails(office, users), what="lead_erased's notice")
    until(live_mailer.settled)
    assert len(owner_mails(office, users)) == 1 and office.emails_of(kept) == []


# --- breach_subject_mail_requested -----------------------------------------------------------

def test_a_breach_notice_reaches_the_person_once_whatever_redelivers_it_objection_or_not(
        new_office, until, live_mailer) -> None:
    office = new_office()
    lead = office.lead()
    with office.rpc() as rpc:  # the person objected to this owner's emails
        rpc.mailer.send_lead_email(lead["lead_id"], None, "s", "b")
    [got] = until(lambda: office.mails_to(lead))
    token = str(got.message["List-Unsubscribe"]).strip("<>").rsplit("/", 1)[1]
    with RpcClient(live_mailer.cfg["AMQP_URI"]) as anonymous:
        anonymous.mailer.unsubscribe(token)
    breach_id = str(uuid.uuid4())
    office.breach_contact(breach_id, lead)

    first = request(office, lead, breach_id)
    request(office, lead, breach_id, message_id=first)  # redelivered
    request(office, lead, breach_id)  # requested again
    until(lambda: len(office.mails_to(lead)) == 2, what="the notice")
    until(live_mailer.settled)
    eid = str(rules.email_id(breach_id, uuid.UUID(lead["lead_id"])))
    live_mailer.publish_as("mailer", "lead_email_due", {"email_id": eid})  # the send, again
    until(live_mailer.settled)

    notice = office.mails_to(lead)[1].message
    assert len(office.mails_to(lead)) == 2
    assert notice["Subject"] == "Violation de vos données"
    assert notice["Message-ID"] == f"<{eid}.lead@suivi.test>"
    assert "Vos coordonnées ont pu être consultées" in notice.get_body(("plain",)).get_content()
    [row] = [r for r in office.emails_of(lead) if r["origin"] == rules.ORIGIN]
    assert (str(row["id"]), row["status"], row["attempts"]) == (eid, "sent", 1)
    assert [e["subject"] for e in office.sent_events(lead)] == ["s", "Violation de vos données"]
    asked = office.breach_asked(breach_id)
    assert [lid for lid, _ in asked] == [lead["lead_id"]]  # asked once: the row is the once
    assert asked[0][1] is not None and asked[0][1].user_id == "mailer" \
        and asked[0][1].is_service
    with office.rpc() as rpc:  # the office sees it in the lead's history
        listed = rpc.mailer.list_lead_emails(lead["lead_id"])["items"]
    assert [i["subject"] for i in listed] == ["Violation de vos données", "s"]


def test_a_person_leads_no_longer_knows_is_recorded_not_sent(
        new_office, until, live_mailer) -> None:
    office = new_office()
    gone, erased = office.lead(), office.lead()
    breach_id = str(uuid.uuid4())
    office.breach_contact(breach_id, erased)  # leads would still answer: the mailer knows
    office.erase_batch([erased])
    until(live_mailer.settled)

    request(office, gone, breach_id)  # erased at leads meanwhile: NotFound
    request(office, erased, breach_id)
    until(live_mailer.settled)
    request(office, gone, breach_id)  # again: recorded once, still not sent
    until(live_mailer.settled)

    for lead in (gone, erased):
        [row] = office.emails_of(lead)
        assert (row["origin"], row["status"], row["cancel_reason"]) == (
            rules.ORIGIN, "cancelled", rules.SUBJECT_GONE)
        assert row["to_address"] is None and row["subject"] is None
        assert office.mails_to(lead) == []
    assert [lid for lid, _ in office.breach_asked(breach_id)] == [gone["lead_id"]]


def test_an_objection_or_a_restriction_does_not_stop_a_waiting_breach_notice(
        new_office, until, live_mailer, compliance) -> None:
    """Issue 12: the person's objection (art. 21) or restriction (art. 18), handled while
    their art. 34 notice waits for a retry, stops the owner's emails, not the notice."""
    office = new_office()
    lead = office.lead()
    clock.freeze(clock.now())  # the retry stays due later until the clock moves
    live_mailer.smtp.defer_rcpt.add(lead["email"])
    try:
        breach_id = str(uuid.uuid4())
        office.breach_contact(breach_id, lead)
        request(office, lead, breach_id)
        until(lambda: [r for r in office.emails_of(lead) if r["status"] == "scheduled"],
              what="the notice waiting for its retry")
        for kind in ("objection", "restriction"):
            rid = compliance.task(kind, lead["email"])
            until(lambda rid=rid: compliance.reports(rid), what=f"the {kind} reported")
        [row] = office.emails_of(lead)
        assert (row["origin"], row["status"], row["restricted_at"]) == (
            rules.ORIGIN, "scheduled", None)
    finally:
        live_mailer.smtp.defer_rcpt.discard(lead["email"])
    clock.advance(timedelta(minutes=5))
    until(lambda: office.emails_of(lead)[0]["status"] == "sent", what="the notice sent")
    [got] = office.mails_to(lead)
    assert got.message["Subject"] == "Violation de vos données"
    with office.rpc() as rpc:  # the owner's own emails are stopped
        assert rpc.mailer.send_lead_email(lead["lead_id"], None, "s", "b")["status"] \
            == "blocked_opposition"
