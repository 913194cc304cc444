"""The section-6 notices: which event asks for which email, French first with one English
line, amounts and dates the French way, and no email where none is due."""
from __future__ import annotations

import pytest

from mailer import templates
from mailer.domain import messages

URL = "https://app.suivi.test/"


def request(event_type: str, **payload):
    payload = {"user_id": "u1", "email": "lea@example.test", "first_name": "Léa", **payload}
    return messages.request_for(event_type, payload, URL)


@pytest.mark.parametrize("event_type, payload, subject, french, english", [
    ("lead_erased", {"lead_id": "l1"}, "Un lead a été effacé à la demande de la personne concernée",
     "ne donne lieu à aucun remboursement", "no refund is due"),
    ("refund_claim_decided", {"status": "approved", "cause": "staff_decision"},
     "Votre demande de remboursement est acceptée", "recrédité", "credited back"),
    ("refund_claim_decided", {"status": "rejected", "cause": "lead_erased"},
     "Votre demande de remboursement est refusée", "effacé à la demande", "rejected"),
    ("absence_approved", {"kind": "planned", "start_date": "2026-12-21", "end_date": "2026-12-27"},
     "Votre absence est enregistrée", "du 21/12/2026 au 27/12/2026", "deliveries are paused"),
    ("absence_approved", {"kind": "force_majeure", "start_date": "2026-12-01",
                          "end_date": "2026-12-03", "records_restored": 2},
     "Votre déclaration de force majeure est acceptée", "2 lead(s) ont été recrédités", "approved"),
    ("absence_rejected", {"kind": "force_majeure", "start_date": "2026-12-01",
                          "end_date": "2026-12-03", "comment": "Justificatif manquant"},
     "Votre déclaration de force majeure est refusée", "Justificatif manquant", "rejected"),
    ("payment_validated", {"amount_cents": 123450, "order_type": "subscription"},
     "Votre paiement est validé", "1\u202f234,50\u00a0€ pour votre abonnement", "confirmed"),
    ("payment_failed", {"order_type": "plan"}, "Votre paiement n'a pas abouti",
     "pour votre plan n'a pas abouti", "did not go through"),
    ("subscription_ending_soon", {"ends_on": "2026-12-08", "plans_running": True},
     "Votre abonnement se termine dans 7 jours", "Sans bureau actif", "cannot take leads"),
    ("plan_changed", {"reason": "sales_closure", "end_date": "2027-01-15"},
     "Votre plan est prolongé", "se termine désormais le 15/01/2027", "extended"),
])
def test_each_notice_in_french_with_an_english_line(event_type, payload, subject, french,
                                                    english) -> None:
    mail = request(event_type, **payload)
    assert mail.rendered.subject == subject
    assert "Bonjour Léa," in mail.rendered.text
    assert french in mail.rendered.text and english in mail.rendered.text
    assert URL in mail.rendered.text and '<html lang="fr">' in mail.rendered.html
    assert mail.to == "lea@example.test"


def test_no_warning_about_plans_when_none_run() -> None:
    mail = request("subscription_ending_soon", ends_on="2026-12-08", plans_running=False)
    assert "Sans bureau actif" not in mail.rendered.text


def test_only_a_sales_closure_makes_a_plan_change_worth_an_email() -> None:
    assert messages.wanted("plan_changed", {"reason": "sales_closure"})
    for reason in ("planned_absence", "force_majeure", "activated", None):
        assert not messages.wanted("plan_changed", {"reason": reason})
    assert messages.wanted("payment_failed", {})
    assert not messages.wanted("lead_delivered", {})


def test_a_staff_comment_cannot_add_lines_or_markup() -> None:
    mail = request("absence_rejected", kind="force_majeure", start_date="2026-12-01",
                   end_date="2026-12-02", comment="<b>non</b>\nBcc: x")
    assert "<b>non</b>" not in mail.rendered.html and "&lt;b&gt;non&lt;/b&gt;" in mail.rendered.html
    assert "Commentaire de l'équipe Suivi : <b>non</b> Bcc: x" in mail.rendered.text


def test_amounts_the_french_way() -> None:
    assert templates.fr_amount(990) == "9,90\u00a0€"
    assert templates.fr_amount(100000000) == "1\u202f000\u202f000,00\u00a0€"
    assert templates.fr_amount("12") == ""
