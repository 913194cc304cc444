"""GDPR art. 21 through the personal unsubscribe link (RFC 8058): recorded by a POST (the
one-click), blocking every later email from that owner to that address, its owner told,
surviving the lead's erasure, and nobody else's mail affected."""
from __future__ import annotations

import uuid

import pytest

from mailer.models import email_oppositions
from suivi_common.errors import NotFound
from suivi_common.rpc import RpcClient


def link_token(received) -> str:
    link = str(received.message["List-Unsubscribe"]).strip("<>")
    return link.rsplit("/", 1)[1]


def mail_and_token(office, lead, until) -> str:
    before = len(office.mails_to(lead))
    with office.rpc() as rpc:
        rpc.mailer.send_lead_email(lead["lead_id"], None, "Bonjour", "Texte")
    mails = until(lambda: len(office.mails_to(lead)) > before and office.mails_to(lead))
    return link_token(mails[-1])


def anonymous(live_mailer) -> RpcClient:
    return RpcClient(live_mailer.cfg["AMQP_URI"])


def test_unsubscribing_blocks_further_mail_from_that_owner_and_the_owner_sees_it(
        new_office, until, live_mailer) -> None:
    office = new_office()
    lead = office.lead()
    token = mail_and_token(office, lead, until)
    with anonymous(live_mailer) as rpc:  # the lead's click: no one is logged in
        assert rpc.mailer.check_unsubscribe_link(token) == {"valid": True}
        assert rpc.mailer.unsubscribe(token) == {"unsubscribed": True}
        assert rpc.mailer.unsubscribe(token) == {"unsubscribed": True}  # again: a no-op
    with office.rpc() as rpc:
        seen = rpc.mailer.lead_email_opposition(lead["lead_id"])
        assert seen["opposed"] is True and seen["recorded_at"]
        blocked = rpc.mailer.send_lead_email(lead["lead_id"], None, "Encore", "Texte")
        assert blocked["status"] == "blocked_opposition"
        statuses = [i["status"] for i in rpc.mailer.list_lead_emails(lead["lead_id"])["items"]]
    assert statuses == ["blocked_opposition", "sent"]
    until(live_mailer.settled, what="every send handled")
    assert len(office.mails_to(lead)) == 1


def test_the_objection_is_per_owner_and_per_address(new_office, until, live_mailer) -> None:
    office = new_office()
    lead = office.lead(email="Shared.Person@Example.test")
    colleague = office.member("Chloé")
    theirs = office.lead(owner=colleague, email="shared.person@example.test")
    other_address = office.lead()
    with anonymous(live_mailer) as rpc:
        rpc.mailer.unsubscribe(mail_and_token(office, lead, until))
    with office.rpc(colleague) as rpc:  # another owner may still write to the person
        assert rpc.mailer.send_lead_email(theirs["lead_id"], None, "s", "b")["status"] == "queued"
        assert rpc.mailer.lead_email_opposition(theirs["lead_id"])["opposed"] is False
    with office.rpc() as rpc:
        assert rpc.mailer.send_lead_email(other_address["lead_id"], None, "s", "b")["status"] \
            == "queued"
    until(lambda: office.mails_to(other_address))
    until(lambda: office.mails_to(theirs))
    until(live_mailer.settled)
    assert len(office.mails_to(lead)) == 1  # before the objection only


def test_the_objection_survives_the_leads_erasure_and_holds_no_address(
        new_office, until, live_mailer, read_rows) -> None:
    office = new_office()
    lead = office.lead(email="gone.person@example.test")
    token = mail_and_token(office, lead, until)
    with anonymous(live_mailer) as rpc:
        rpc.mailer.unsubscribe(token)
    office.erase(lead)
    until(lambda: office.emails_of(lead) == [])
    with anonymous(live_mailer) as rpc:  # the link still works after the erasure
        assert rpc.mailer.unsubscribe(token) == {"unsubscribed": True}
    again = office.lead(email="gone.person@example.test")  # bought again, say
    with office.rpc() as rpc:
        assert rpc.mailer.send_lead_email(again["lead_id"], None, "s", "b")["status"] == \
            "blocked_opposition"
    rows = read_rows(live_mailer.db_url, email_oppositions,
                     email_oppositions.c.owner_id == office.user.user_id)
    assert len(rows) == 1 and b"gone.person" not in rows[0]["address_bidx"]


def test_an_email_waiting_in_the_queue_is_blocked_when_the_lead_objects(
        new_office, until, live_mailer) -> None:
    office = new_office()
    lead = office.lead()
    token = mail_and_token(office, lead, until)
    with live_mailer.smtp.down():  # the next one waits for a retry
        office.send(lead)
        until(lambda: [r for r in office.emails_of(lead) if r["status"] == "scheduled"])
        with anonymous(live_mailer) as rpc:
            rpc.mailer.unsubscribe(token)
    until(lambda: sorted(r["status"] for r in office.emails_of(lead)) ==
          ["blocked_opposition", "sent"])
    until(live_mailer.settled)
    assert len(office.mails_to(lead)) == 1


@pytest.mark.parametrize("token", ["nonsense", "u1" + "A" * 86, "u1", "x" * 300])
def test_a_forged_or_altered_link_records_nothing(live_mailer, token: str, read_rows) -> None:
    before = len(read_rows(live_mailer.db_url, email_oppositions))
    with anonymous(live_mailer) as rpc:
        with pytest.raises(NotFound):
            rpc.mailer.unsubscribe(token)
        with pytest.raises(NotFound):
            rpc.mailer.check_unsubscribe_link(token)
    assert len(read_rows(live_mailer.db_url, email_oppositions)) == before


def test_a_token_for_someone_else_cannot_be_made_from_mine(new_office, until,
                                                           live_mailer) -> None:
    """Changing the owner inside a genuine token breaks its MAC."""
    import base64

    office = new_office()
    lead = office.lead()
    token = mail_and_token(office, lead, until)
    raw = bytearray(base64.urlsafe_b64decode(token[2:] + "=" * (-len(token[2:]) % 4)))
    raw[:16] = uuid.uuid4().bytes
    forged = "u1" + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with anonymous(live_mailer) as rpc:
        with pytest.raises(NotFound):
            rpc.mailer.unsubscribe(forged)
