"""Emails from the office to one lead: queued at once (202), sent over SMTP with the
placeholders, the user's Reply-To and the unsubscribe headers, listed in the lead's history
(encrypted at rest), told to leads, retried or failed, and erased with the lead."""
from __future__ import annotations

import uuid

import pytest

from mailer.models import lead_emails
from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound


def test_an_office_email_reaches_the_lead_with_placeholders_reply_to_and_unsubscribe(
        new_office, until) -> None:
    office = new_office("Réseau Sud")
    lead = office.lead(first_name="Léa", last_name="Roux", city="Nîmes")
    template = office.template(
        subject="Bonjour {{ lead.first_name }}",
        body_text="{{ lead.first_name }} {{ lead.last_name }} à {{ lead.city }}\n"
                  "{{ user.first_name }} {{ user.phone }} ({{ network.name }})",
        body_html="<p>{{ lead.first_name }} &amp; {{ user.first_name }}</p>")
    with office.rpc() as rpc:
        queued = rpc.mailer.send_lead_email(lead["lead_id"], template["id"])
    assert queued["status"] == "queued" and uuid.UUID(queued["id"])
    [got] = until(lambda: office.mails_to(lead))
    msg = got.message
    user = office.user.user_id
    assert msg["Subject"] == "Bonjour Léa"
    assert msg["From"] == "Bruno Durand via Suivi <no-reply@suivi.test>"
    assert msg["Reply-To"].addresses[0].addr_spec.startswith("bruno.")
    assert msg["Message-ID"] == f"<{queued['id']}.lead@suivi.test>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = str(msg["List-Unsubscribe"]).strip("<>")
    assert link.startswith("https://app.suivi.test/unsubscribe/u1")
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Léa Roux à Nîmes\nBruno +33612345678 (Réseau Sud)")
    assert link in text  # the footer
    assert link in msg.get_body(("html",)).get_content()

    [event] = until(lambda: office.sent_events(lead))
    assert event == {"lead_id": lead["lead_id"], "user_id": user, "email_id": queued["id"],
                     "subject": "Bonjour Léa", "sent_at": event["sent_at"], "channel": "smtp"}
    with office.rpc() as rpc:
        [item] = rpc.mailer.list_lead_emails(lead["lead_id"])["items"]
    assert item["status"] == "sent" and item["origin"] == "office" and item["channel"] == "smtp"
    assert item["subject"] == "Bonjour Léa" and item["template_id"] == template["id"]


def test_a_free_text_email_may_use_placeholders_too(new_office, until) -> None:
    office = new_office()
    lead = office.lead(first_name="Yann")
    with office.rpc() as rpc:
        rpc.mailer.send_lead_email(lead["lead_id"], None, "Rappel", "Bonjour {{ lead.first_name }}")
        with pytest.raises(Invalid) as caught:
            rpc.mailer.send_lead_email(lead["lead_id"], None, "x", "a\n{{ lead.email }}")
        assert caught.value.fields == {"body": "line 2: unknown placeholder lead.email"}
        with pytest.raises(Invalid):
            rpc.mailer.send_lead_email(lead["lead_id"], None, None, None)
    [got] = until(lambda: office.mails_to(lead))
    assert got.message.get_body(("plain",)).get_content().startswith("Bonjour Yann")


def test_the_history_is_encrypted_at_rest(new_office, until, read_rows, live_mailer) -> None:
    office = new_office()
    lead = office.lead(email="secret.address@example.test", first_name="Zoé")
    with office.rpc() as rpc:
        rpc.mailer.send_lead_email(lead["lead_id"], None, "Sujet très privé", "Corps Zoé")
    until(lambda: office.mails_to(lead))
    [row] = until(lambda: [r for r in office.emails_of(lead) if r["status"] == "sent"])
    stored = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row.values())
    for clear in ("secret.address", "Sujet très privé", "Corps Zoé"):
        assert clear.encode() not in stored


def test_nobody_else_reaches_a_lead(new_office) -> None:
    office = new_office()
    other = office.member("Chloé")
    lead = office.lead()
    with office.rpc(other) as rpc:
        for call in (lambda: rpc.mailer.send_lead_email(lead["lead_id"], None, "s", "b"),
                     lambda: rpc.mailer.list_lead_emails(lead["lead_id"]),
                     lambda: rpc.mailer.lead_email_opposition(lead["lead_id"]),
                     lambda: rpc.mailer.send_lead_email(str(uuid.uuid4()), None, "s", "b"),
                     lambda: rpc.mailer.list_lead_emails("nonsense")):
            with pytest.raises(NotFound):
                call()
    theirs = new_office()
    foreign_template = theirs.template()
    with office.rpc() as rpc:  # a template of another network is no template of mine
        with pytest.raises(NotFound):
            rpc.mailer.send_lead_email(lead["lead_id"], foreign_template["id"])
    assert office.emails_of(lead) == []


def test_a_closed_office_cannot_email_and_a_lead_without_address_cannot_be_emailed(
        new_office, closed_offices) -> None:
    office = new_office()
    lead, silent = office.lead(), office.lead(email=None)
    with office.rpc() as rpc:
        with pytest.raises(Conflict) as caught:
            rpc.mailer.send_lead_email(silent["lead_id"], None, "s", "b")
        assert caught.value.code == "lead_has_no_email"
        closed_offices.add(office.user.user_id)
        with pytest.raises(Forbidden) as refused:
            rpc.mailer.send_lead_email(lead["lead_id"], None, "s", "b")
        assert refused.value.code == "office_inactive"


def test_a_refused_email_is_retried_then_failed_and_says_so(new_office, until,
                                                            live_mailer) -> None:
    office = new_office()
    lead = office.lead()
    live_mailer.smtp.refuse_rcpt.add(lead["email"])  # 550: permanent
    with office.rpc() as rpc:
        rpc.mailer.send_lead_email(lead["lead_id"], None, "s", "b")
        until(lambda: rpc.mailer.list_lead_emails(lead["lead_id"])["items"][0]["status"] == "failed")
        [item] = rpc.mailer.list_lead_emails(lead["lead_id"])["items"]
    assert "refused the recipient" in item["error"] and lead["email"] not in item["error"]
    assert office.sent_events(lead) == []


def test_a_server_that_is_down_delays_the_email_and_nothing_is_lost(
        new_office, until, live_mailer) -> None:
    office = new_office()
    lead = office.lead()
    with live_mailer.smtp.down():
        office.send(lead)
        [row] = until(lambda: [r for r in office.emails_of(lead)
                               if r["status"] == "scheduled" and r["attempts"] == 1])
        assert "unreachable" in row["error"]
    [got] = until(lambda: office.mails_to(lead))  # the timer released it again
    assert until(lambda: [r for r in office.emails_of(lead) if r["status"] == "sent"])
    assert len(office.mails_to(lead)) == 1


def test_lead_erased_erases_its_email_history(new_office, until, live_mailer) -> None:
    office = new_office()
    lead, kept = office.lead(), office.lead()
    with office.rpc() as rpc:
        rpc.mailer.send_lead_email(lead["lead_id"], None, "s", "b")
        rpc.mailer.send_lead_email(kept["lead_id"], None, "s", "b")
    until(lambda: office.mails_to(lead) and office.mails_to(kept))
    until(lambda: [r for r in office.emails_of(lead) if r["status"] == "sent"])
    office.erase(lead)
    office.erase(lead)  # twice: a no-op
    until(lambda: office.emails_of(lead) == [])
    until(live_mailer.settled, what="both erasures handled")
    assert len(office.emails_of(kept)) == 1
    with office.rpc() as rpc:  # the lead is gone for leads: so is its history
        with pytest.raises(NotFound):
            rpc.mailer.list_lead_emails(lead["lead_id"])


def test_a_redelivered_due_event_sends_once(new_office, until, live_mailer) -> None:
    """Whoever claims the row sends it; the others find it sending or sent."""
    office = new_office()
    lead = office.lead()
    with office.rpc() as rpc:
        queued = rpc.mailer.send_lead_email(lead["lead_id"], None, "s", "b")
    for _ in range(3):  # as if the event came again, under new message ids
        live_mailer.publish_as("mailer", "lead_email_due", {"email_id": queued["id"]})
    until(lambda: office.sent_events(lead))
    until(live_mailer.settled, what="every due event handled")
    assert len(office.mails_to(lead)) == 1 and len(office.sent_events(lead)) == 1
    assert [r["status"] for r in office.emails_of(lead)] == ["sent"]


def test_history_rows_of_a_lead_are_not_shown_to_its_former_owner(new_office, until,
                                                                  read_rows, live_mailer) -> None:
    office = new_office()
    lead = office.lead()
    office.send(lead)
    until(lambda: office.mails_to(lead))
    newcomer = office.member("Nina")
    lead["owner_id"] = newcomer.user_id  # leads says it is someone else's now
    with office.rpc(newcomer) as rpc:
        assert rpc.mailer.list_lead_emails(lead["lead_id"])["items"] == []
    assert read_rows(live_mailer.db_url, lead_emails,
                     lead_emails.c.lead_id == uuid.UUID(lead["lead_id"]))


def test_an_email_whose_owner_left_the_platform_is_not_sent(new_office, until, live_mailer,
                                                            users) -> None:
    office = new_office()
    lead = office.lead()
    with live_mailer.smtp.down():
        office.send(lead)
        until(lambda: [r for r in office.emails_of(lead) if r["status"] == "scheduled"])
        del users[office.user.user_id]  # the account is gone before the retry
    [row] = until(lambda: [r for r in office.emails_of(lead) if r["status"] == "cancelled"])
    assert row["cancel_reason"] == "owner_gone"
    until(live_mailer.settled)
    assert office.mails_to(lead) == []
