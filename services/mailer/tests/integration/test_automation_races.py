"""Exactly once under pressure: two mailer instances handling redelivered status changes,
and a mailer killed in the middle of an SMTP conversation, then replaced."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from nameko import config as nameko_config

from mailer.models import lead_emails
from suivi_common import clock


def test_two_instances_and_redeliveries_send_each_email_once(private_mailer, office_in,
                                                              until, read_rows) -> None:
    """The claims alone make each email once (no lease runs out here: the clock moves by
    two hours only after every immediate email is sent and told)."""
    private_mailer.start_mailer()
    private_mailer.start_mailer()
    live = private_mailer.live
    office = office_in(live)
    for subject, delay in (("Un", 0), ("Deux", 0), ("Plus tard", 1)):
        office.automation("meeting", office.template(subject=subject)["id"], delay_hours=delay)
    leads = [office.lead() for _ in range(12)]
    for lead in leads:
        mid = office.move(lead, "meeting")
        office.move(lead, "meeting", message_id=mid)  # redelivered: the same change
    until(lambda: sum(len(office.mails_to(lead)) for lead in leads) == 24,
          what="the immediate emails")
    clock.advance(timedelta(hours=2))
    until(lambda: sum(len(office.sent_events(lead)) for lead in leads) == 36,
          what="every email sent and told")
    until(live.settled, what="nothing left to handle")
    ids = Counter(r.message["Message-ID"] for lead in leads for r in office.mails_to(lead))
    assert len(ids) == 36 and set(ids.values()) == {1}
    for lead in leads:
        assert sorted(r.message["Subject"] for r in office.mails_to(lead)) == [
            "Deux", "Plus tard", "Un"]
        assert [r["status"] for r in office.emails_of(lead)] == ["sent"] * 3
    assert len(read_rows(live.db_url, lead_emails)) == 36


def held_long(monkeypatch) -> None:
    """The held conversation must outlast the test's steps: with the 5 s SMTP timeout of the
    other tests, a loaded machine lets it time out first, and that failure's retry is a
    send the test did not stage (a third copy)."""
    monkeypatch.setitem(nameko_config, "SMTP_TIMEOUT_SECONDS", 300)


def test_a_sender_stuck_past_its_lease_is_overtaken_and_the_lead_is_told_once(
        private_mailer, office_in, until, past_the_lease, monkeypatch) -> None:
    """A sender that stays silent past its lease (a dead process, a hung connection) is taken
    over by another instance's timer; when the stuck one finally hears back, it finds the
    email sent and records nothing more."""
    held_long(monkeypatch)
    private_mailer.start_mailer()
    live = private_mailer.live
    office = office_in(live)
    office.automation("meeting", office.template(subject="Bienvenue")["id"])
    lead = office.lead()
    live.smtp.hold.add(lead["email"])  # its first mail waits for the server's answer
    office.move(lead, "meeting")
    [held] = until(lambda: office.mails_to(lead), what="the mail on the wire")
    until(lambda: [r for r in office.emails_of(lead) if r["status"] == "sending"])
    private_mailer.start_mailer()  # a second instance
    past_the_lease()  # the stuck sender's lease runs out
    until(lambda: len(office.mails_to(lead)) == 2, what="the send taken over")
    [row] = until(lambda: [r for r in office.emails_of(lead) if r["status"] == "sent"])
    live.smtp.hold.clear()  # the stuck sender hears "250" at last
    until(lambda: office.sent_events(lead))
    until(live.settled)
    copies = office.mails_to(lead)
    assert [c.message["Message-ID"] for c in copies] == [held.message["Message-ID"]] * 2
    assert len(office.sent_events(lead)) == 1
    assert [r["status"] for r in office.emails_of(lead)] == ["sent"]


def test_a_mailer_killed_mid_send_is_replaced_and_the_email_goes_once_more_under_its_id(
        private_mailer, office_in, until, past_the_lease, monkeypatch) -> None:
    held_long(monkeypatch)
    first = private_mailer.start_mailer()
    live = private_mailer.live
    office = office_in(live)
    office.automation("meeting", office.template(subject="Bienvenue")["id"])
    lead = office.lead()
    live.smtp.hold.add(lead["email"])
    office.move(lead, "meeting")
    [held] = until(lambda: office.mails_to(lead), what="the mail on the wire")
    until(lambda: [r for r in office.emails_of(lead) if r["status"] == "sending"])
    first.kill()  # between the server's data and its reply
    live.smtp.hold.clear()
    past_the_lease()  # the dead sender's lease runs out
    private_mailer.start_mailer()  # the replacement sends it again
    [row] = until(lambda: [r for r in office.emails_of(lead) if r["status"] == "sent"],
                  what="the replacement's send")
    until(lambda: office.sent_events(lead))
    until(live.settled)
    copies = office.mails_to(lead)
    assert [c.message["Message-ID"] for c in copies] == [held.message["Message-ID"]] * 2
    assert row["attempts"] == 2 and len(office.sent_events(lead)) == 1
