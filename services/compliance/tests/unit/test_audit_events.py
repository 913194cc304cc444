"""What an audited event of another service keeps: ids and statuses, never free text."""
from __future__ import annotations

from compliance.domain import audit_events


def test_a_refund_decision_keeps_ids_and_status() -> None:
    kind, actor, subject, details = audit_events.entry_of("leads", "refund_claim_decided", {
        "claim_id": "c1", "lead_id": "l1", "user_id": "u1", "network_id": "n1",
        "status": "approved", "cause": "staff_decision"})
    assert kind == "refund_claim.decided"
    assert actor == {"type": "service", "id": "leads"}
    assert subject == {"type": "refund_claim", "id": "c1"}
    assert details == {"lead_id": "l1", "user_id": "u1", "network_id": "n1",
                       "status": "approved", "cause": "staff_decision",
                       "event": "leads.refund_claim_decided"}


def test_free_text_of_an_absence_decision_is_not_copied() -> None:
    _, _, _, details = audit_events.entry_of("plans", "absence_rejected", {
        "absence_id": "a1", "kind": "force_majeure", "user_id": "u1", "network_id": "n1",
        "plan_ids": ["p1"], "start_date": "2026-03-02", "end_date": "2026-03-06",
        "comment": "Le certificat médical de M. Dupont est illisible"})
    assert "comment" not in details
    assert details["plan_ids"] == ["p1"]


def test_every_audited_event_names_its_subject_field() -> None:
    for (source, event_type), rule in audit_events.AUDITED.items():
        _, _, subject, details = audit_events.entry_of(source, event_type, {rule.subject_key: "x"})
        assert subject["id"] == "x"
        assert details["event"] == f"{source}.{event_type}"


def test_a_second_factor_reset_is_the_staff_members_act_on_the_user() -> None:
    kind, actor, subject, details = audit_events.entry_of("accounts", "second_factor_reset", {
        "user_id": "u1", "role": "compliance", "network_id": None, "staff_id": "s1",
        "reset_at": "2026-12-03T10:00:00+00:00", "revoked_sessions": 2})
    assert kind == "mfa.reset"
    assert actor == {"type": "service", "id": "accounts", "user_id": "s1"}
    assert subject == {"type": "user", "id": "u1"}
    assert details["staff_id"] == "s1" and details["revoked_sessions"] == 2


def test_an_email_change_is_audited_without_any_address() -> None:
    kind, _, subject, details = audit_events.entry_of("accounts", "email_changed", {
        "user_id": "u1", "network_id": "n1", "email": "old@example.test",
        "first_name": "Léa", "changed_at": "2026-12-03T10:00:00+00:00"})
    assert (kind, subject) == ("email.changed", {"type": "user", "id": "u1"})
    assert "old@example.test" not in str(details) and "Léa" not in str(details)
    assert details == {"changed_at": "2026-12-03T10:00:00+00:00",
                       "event": "accounts.email_changed"}


def test_the_account_security_facts_are_audited_on_the_user() -> None:
    for event_type, kind in (("password_changed", "password.changed"),
                             ("second_factor_enrolled", "mfa.enrolled"),
                             ("recovery_code_used", "mfa.recovery_code_used")):
        got, actor, subject, _ = audit_events.entry_of("accounts", event_type, {
            "user_id": "u1", "role": "staff", "how": "reset", "remaining": 9})
        assert (got, subject, actor) == (kind, {"type": "user", "id": "u1"},
                                         {"type": "service", "id": "accounts"})
