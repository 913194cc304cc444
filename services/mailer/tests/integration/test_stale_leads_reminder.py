"""The stale-lead reminder over a real SMTP conversation: leads' ``stale_leads_reminder_due``
reaches its owner (address asked of accounts) with the count and the filtered office
link, once per owner and month, even when leads announced it twice."""
from __future__ import annotations

import uuid

from suivi_common.events import example


def test_the_reminder_reaches_its_owner_once_a_month(new_office, until, live_mailer,
                                                     read_ledger) -> None:
    office = new_office()
    user = office.member("Lea")
    address = f"lea.{user.user_id[:8]}@example.org"
    payload = example("stale_leads_reminder_due", user_id=user.user_id,
                      network_id=office.network_id, month="2026-12-01",
                      inactive_since="2025-12-02", months=12, count=4)
    mid = live_mailer.publish_as("leads", "stale_leads_reminder_due", payload)
    live_mailer.publish_as("leads", "stale_leads_reminder_due", payload, mid)  # redelivered
    live_mailer.publish_as("leads", "stale_leads_reminder_due", payload)  # emitted twice
    [got] = until(lambda: live_mailer.smtp.to(address))
    assert got.message["Subject"] == "4 leads sans activité depuis 12 mois dans votre bureau"
    assert got.message["X-Suivi-Mail-Kind"] == "stale_leads_reminder"
    text = got.message.get_body(("plain",)).get_content()
    assert "Bonjour Lea," in text and "4 leads sans aucune activité" in text
    assert "https://app.suivi.test/leads?inactive_since=2025-12-02" in text
    assert "You have 4 lead(s) with no activity for 12 months" in text
    [row] = until(lambda: [r for r in read_ledger(live_mailer.db_url)
                           if r["message_id"] == f"stale-leads:2026-12-01:{user.user_id}"
                           and r["state"] == "sent"])
    assert row["kind"] == "stale_leads_reminder" and row["user_id"] == user.user_id
    until(live_mailer.settled)
    assert len(live_mailer.smtp.to(address)) == 1
    # next month is another reminder
    live_mailer.publish_as("leads", "stale_leads_reminder_due",
                           {**payload, "month": "2027-01-01", "inactive_since": "2026-01-02"})
    until(lambda: len(live_mailer.smtp.to(address)) == 2)


def test_no_reminder_for_a_user_accounts_does_not_know(new_office, until, live_mailer,
                                                       read_ledger) -> None:
    office = new_office()
    user = office.member("Lea")
    address = f"lea.{user.user_id[:8]}@example.org"
    unknown = str(uuid.uuid4())
    live_mailer.publish_as("leads", "stale_leads_reminder_due", example(
        "stale_leads_reminder_due", user_id=unknown, count=3))
    live_mailer.publish_as("leads", "stale_leads_reminder_due", example(
        "stale_leads_reminder_due", user_id=user.user_id, count=1, months=12))
    until(lambda: live_mailer.smtp.to(address))
    until(live_mailer.settled)
    keys = {r["message_id"] for r in read_ledger(live_mailer.db_url)}
    assert not any(unknown in k for k in keys)
