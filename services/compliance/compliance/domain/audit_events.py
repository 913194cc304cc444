"""Which facts of the other services go into the audit trail, and what of them is kept.

Annex IV.15 asks for staff decisions on claims, absences and payments, erasures, an admin
opening a member's office and exports. Only identifiers, statuses and dates are copied:
free text (staff comments, reasons) and anything personal stay in the service that owns
them, so the append-only log never holds data that an erasure would have to reach.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Audited:
    kind: str  # the audit entry's kind
    subject_type: str
    subject_key: str  # payload field that names the subject
    kept: tuple[str, ...]  # payload fields copied into the entry's details


AUDITED: dict[tuple[str, str], Audited] = {
    ("leads", "refund_claim_decided"): Audited(
        "refund_claim.decided", "refund_claim", "claim_id",
        ("lead_id", "user_id", "network_id", "status", "cause")),
    ("leads", "lead_erased"): Audited(
        "lead.erased", "lead", "lead_id", ("user_id", "network_id", "erased_at")),
    ("plans", "absence_approved"): Audited(
        "absence.approved", "absence", "absence_id",
        ("kind", "user_id", "network_id", "plan_ids", "start_date", "end_date",
         "records_restored", "plan_reopened")),
    ("plans", "absence_rejected"): Audited(
        "absence.rejected", "absence", "absence_id",
        ("kind", "user_id", "network_id", "plan_ids", "start_date", "end_date")),
    ("plans", "sales_closure_declared"): Audited(
        "sales_closure.declared", "sales_closure", "closure_id",
        ("start_date", "end_date", "countries", "tiers", "plan_ids")),
    ("accounts", "payment_validated"): Audited(
        "payment.validated", "payment", "payment_id",
        ("user_id", "network_id", "order_type", "order_id", "amount_cents", "method",
         "validated_at")),
    ("accounts", "payment_failed"): Audited(
        "payment.failed", "payment", "payment_id",
        ("user_id", "order_type", "order_id")),
    ("accounts", "payment_cancelled"): Audited(
        "payment.cancelled", "payment", "payment_id",
        ("user_id", "order_type", "order_id")),
    # account security (issue 14): who changed a credential or a second factor, and when
    ("accounts", "password_changed"): Audited(
        "password.changed", "user", "user_id", ("role", "how", "changed_at")),
    ("accounts", "email_changed"): Audited(
        "email.changed", "user", "user_id", ("changed_at",)),
    ("accounts", "second_factor_enrolled"): Audited(
        "mfa.enrolled", "user", "user_id", ("role", "kind", "enrolled_at")),
    ("accounts", "recovery_code_used"): Audited(
        "mfa.recovery_code_used", "user", "user_id", ("role", "used_at", "remaining")),
    ("accounts", "invitation_masked"): Audited(
        "invitation.masked", "network", "network_id", ("invitation_id", "admin_id", "invited_at")),
    ("accounts", "second_factor_removed"): Audited(
        "mfa.removed", "user", "user_id", ("role", "kind", "removed_at")),
    ("accounts", "recovery_codes_regenerated"): Audited(
        "mfa.recovery_codes_regenerated", "user", "user_id", ("role", "regenerated_at", "count")),
    ("accounts", "second_factor_reset"): Audited(
        "mfa.reset", "user", "user_id",
        ("role", "network_id", "staff_id", "reset_at", "revoked_sessions")),
    # Not emitted yet (contracts in the compliance README): an admin opening a member's
    # office, and an export of leads.
    ("accounts", "member_office_opened"): Audited(
        "office.opened_by_admin", "office", "member_id",
        ("admin_id", "network_id", "opened_at")),
    ("leads", "leads_exported"): Audited(
        "leads.exported", "export", "export_id",
        ("user_id", "network_id", "format", "count", "exported_at")),
}


def _plain(value: Any) -> Any:
    """JSON scalars and lists of them only (no nested objects, no floats): what is hashed
    must survive a JSONB round trip byte for byte."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def entry_of(source: str, event_type: str, payload: Mapping[str, Any]
             ) -> tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(kind, actor, subject, details)`` of the audit entry an event becomes."""
    rule = AUDITED[(source, event_type)]
    actor: dict[str, Any] = {"type": "service", "id": source}
    decided_by = payload.get("decided_by") or payload.get("staff_id")
    if decided_by:
        actor["user_id"] = str(decided_by)
    subject = {"type": rule.subject_type, "id": _plain(payload.get(rule.subject_key))}
    details = {k: _plain(payload[k]) for k in rule.kept if k in payload}
    details["event"] = f"{source}.{event_type}"
    return rule.kind, actor, subject, details
