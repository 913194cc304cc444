"""The section-6 notices over a real SMTP conversation: each event of accounts, plans and
leads reaches the user it concerns (address asked of accounts), once, through the one SMTP
adapter and its ledger."""
from __future__ import annotations

import uuid

import pytest

from suivi_common.events import example

NOTICES = [
    ("leads", "lead_erased", example("lead_erased"),
     "Un lead a été effacé à la demande de la personne concernée"),
    ("leads", "refund_claim_decided", example("refund_claim_decided", status="approved",
                                              cause="staff_decision"),
     "Votre demande de remboursement est acceptée"),
    ("plans", "absence_approved", example("absence_approved", kind="planned",
                                          start_date="2026-12-21", end_date="2026-12-27",
                                          records_restored=0),
     "Votre absence est enregistrée"),
    ("plans", "absence_rejected", example("absence_rejected", kind="force_majeure",
                                          start_date="2026-12-01", end_date="2026-12-02",
                                          comment=""),
     "Votre déclaration de force majeure est refusée"),
    ("accounts", "payment_validated", example("payment_validated", order_type="plan",
                                              amount_cents=4900, method="card"),
     "Votre paiement est validé"),
    ("accounts", "payment_failed", example("payment_failed", order_type="subscription"),
     "Votre paiement n'a pas abouti"),
    ("accounts", "subscription_ending_soon", example("subscription_ending_soon",
                                                     ends_on="2026-12-08", plans_running=True),
     "Votre abonnement se termine dans 7 jours"),
    ("plans", "plan_changed", example("plan_changed", reason="sales_closure",
                                      end_date="2027-01-15", status="active"),
     "Votre plan est prolongé"),
]


@pytest.mark.parametrize("source, event_type, payload, subject", NOTICES,
                         ids=[n[1] + ("_" + n[2].get("kind", "")) for n in NOTICES])
def test_each_notice_reaches_its_user_once(new_office, until, live_mailer, read_ledger,
                                           source, event_type, payload, subject) -> None:
    office = new_office()
    user = office.member("Lea")
    address = f"lea.{user.user_id[:8]}@example.org"
    mid = live_mailer.publish_as(source, event_type, {**payload, "user_id": user.user_id,
                                                      "network_id": office.network_id})
    live_mailer.publish_as(source, event_type, {**payload, "user_id": user.user_id}, mid)
    [got] = until(lambda: live_mailer.smtp.to(address))
    assert got.message["Subject"] == subject
    assert "Bonjour Lea," in got.message.get_body(("plain",)).get_content()
    [row] = until(lambda: [r for r in read_ledger(live_mailer.db_url)
                           if r["message_id"] == mid and r["state"] == "sent"])
    assert row["user_id"] == user.user_id
    until(live_mailer.settled)
    assert len(live_mailer.smtp.to(address)) == 1


def test_no_notice_for_other_plan_changes_nor_for_a_user_accounts_does_not_know(
        new_office, until, live_mailer, read_ledger) -> None:
    office = new_office()
    user = office.member("Lea")
    address = f"lea.{user.user_id[:8]}@example.org"
    quiet = live_mailer.publish_as("plans", "plan_changed", {
        "plan_id": "p", "user_id": user.user_id, "reason": "planned_absence"})
    unknown = live_mailer.publish_as("accounts", "payment_failed", {
        "payment_id": "p", "user_id": str(uuid.uuid4()), "order_type": "plan"})
    control = live_mailer.publish_as("accounts", "payment_failed", {
        "payment_id": "p", "user_id": user.user_id, "order_type": "plan"})
    until(lambda: live_mailer.smtp.to(address))
    until(live_mailer.settled)
    ids = {r["message_id"] for r in read_ledger(live_mailer.db_url)}
    assert control in ids and quiet not in ids and unknown not in ids
    assert len(live_mailer.smtp.to(address)) == 1
