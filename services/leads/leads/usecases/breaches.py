"""Breaches, leads' part (annex IV.9; GDPR art. 33-34): how many persons and records a
breach reaches per controller (``leads.breach_scope``, compliance's count), and the
e-mails to the persons once a controller approved notifying them
(``breach_subject_notice_requested``).

What is in scope is ``domain.breach_scope``'s rule; both are one set-based statement over
the office's tables, whatever the number of controllers.

The notice to persons: each person of the controller's scope that has an e-mail address
(one per address, whatever the number of copies in that office) gets one
``breach_subject_mail_requested {breach_id, user_id, network_id, lead_id, subject, text,
dpo}`` for the mailer. The address never travels: the mailer asks
``breach_subject_contact(breach_id, lead_id)`` when it sends, which answers only for the
persons requested for that breach, and only while the lead still holds data (decrypted
only to send). Neither the opposition list nor a restriction stops a notice the law
requires (art. 34). ``breach_subject_notices`` keeps who was requested: a redelivered
event, or a second approval, mails nobody twice.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from leads.domain.breach_scope import EMAIL, LEAD, NOTE, BreachScope, parse_scope
from leads.models import breach_subject_notices
from leads.usecases.office import one_lead
from leads.usecases.office.context import OfficeCtx
from suivi_common.crypto import KeyDestroyed
from suivi_common.database import one_row
from suivi_common.errors import Invalid, NotFound
from suivi_common.ids import parse_uuid

log = logging.getLogger(__name__)
MAIL_EVENT = "breach_subject_mail_requested"
_IN_WINDOW = ("(CAST(:changed_from AS timestamptz) IS NULL OR {col} >= :changed_from) AND "
              "(CAST(:changed_to AS timestamptz) IS NULL OR {col} <= :changed_to)")


def _records_sql(scope: BreachScope, owner: bool) -> str:
    """``rec(id, owner_id, network_id)``: one row per record in scope (see the domain)."""
    where = ["deleted_at IS NULL", "erased_at IS NULL", "data IS NOT NULL"]
    if scope.kind == "networks":
        where.append("network_id = ANY(CAST(:network_ids AS text[]))")
    elif scope.kind == "users":
        where.append("owner_id = ANY(CAST(:user_ids AS text[]))")
    if owner:
        where.append("owner_id = :owner_id")
    windowed = scope.changed_from is not None or scope.changed_to is not None
    parts = []
    if LEAD in scope.records:
        changed = ""
        if windowed:
            changed = (f" WHERE ({_IN_WINDOW.format(col='l.created_at')}) OR EXISTS ("
                       f"SELECT 1 FROM office_history h WHERE h.lead_id = l.id AND "
                       f"{_IN_WINDOW.format(col='h.changed_at')})")
        parts.append(f"SELECT l.id, l.owner_id, l.network_id FROM l{changed}")
    if NOTE in scope.records:
        parts.append("SELECT l.id, l.owner_id, l.network_id FROM l "
                     "JOIN office_notes n ON n.lead_id = l.id"
                     + (f" WHERE {_IN_WINDOW.format(col='n.created_at')}" if windowed else ""))
    if EMAIL in scope.records:
        parts.append("SELECT l.id, l.owner_id, l.network_id FROM l "
                     "JOIN office_emails e ON e.lead_id = l.id"
                     + (f" WHERE {_IN_WINDOW.format(col='e.sent_at')}" if windowed else ""))
    union = "\n    UNION ALL\n    ".join(parts) or "SELECT id, owner_id, network_id FROM l WHERE false"
    return (f"WITH l AS (\n    SELECT id, owner_id, network_id, created_at FROM office_leads\n"
            f"    WHERE {' AND '.join(where)}\n), rec AS (\n    {union}\n)")


def _params(scope: BreachScope, **extra: Any) -> dict[str, Any]:
    return {"network_ids": list(scope.network_ids), "user_ids": list(scope.user_ids),
            "changed_from": scope.changed_from, "changed_to": scope.changed_to, **extra}


def breach_scope(session: Session, raw_scope: Any) -> list[dict[str, Any]]:
    """``[{user_id, network_id, persons, records}]``, one per controller with a record in
    scope (compliance's contract), in user id order."""
    scope = parse_scope(raw_scope)
    if scope.kind != "all" and not (scope.network_ids if scope.kind == "networks"
                                    else scope.user_ids):
        return []
    rows = session.execute(text(_records_sql(scope, owner=False) + """
SELECT owner_id, min(network_id) AS network_id, count(DISTINCT id) AS persons,
       count(*) AS records
FROM rec GROUP BY owner_id ORDER BY owner_id"""), _params(scope))
    return [{"user_id": r.owner_id, "network_id": r.network_id, "persons": int(r.persons),
             "records": int(r.records)} for r in rows]


def request_subject_notices(ctx: OfficeCtx, payload: Mapping[str, Any]) -> int:
    """A controller approved notifying the persons (art. 34): one mail request per person
    of their scope with an address, once. Returns how many were requested now."""
    breach_id, user_id = str(payload.get("breach_id") or ""), str(payload.get("user_id") or "")
    subject, body = payload.get("subject"), payload.get("text")
    if not breach_id or not user_id or len(breach_id) > 64 or len(user_id) > 64:
        raise Invalid("breach_subject_notice_requested needs breach_id and user_id")
    if not isinstance(subject, str) or not subject.strip() or not isinstance(body, str) \
            or not body.strip():
        raise Invalid("breach_subject_notice_requested needs the subject and text to send")
    scope = parse_scope(payload.get("scope"))
    rows = ctx.session.execute(text(_records_sql(scope, owner=True) + """
, persons AS (
    SELECT DISTINCT ON (o.email_bidx) o.id, o.network_id
    FROM office_leads o JOIN (SELECT DISTINCT id FROM rec) r ON r.id = o.id
    WHERE o.email_bidx IS NOT NULL
    ORDER BY o.email_bidx, o.id
)
INSERT INTO breach_subject_notices (breach_id, lead_id, user_id, requested_at)
SELECT :breach_id, id, :owner_id, :now FROM persons
ON CONFLICT DO NOTHING
RETURNING lead_id"""), _params(scope, owner_id=user_id, breach_id=breach_id,
                              now=ctx.now)).all()
    for row in sorted(rows, key=lambda r: str(r.lead_id)):
        ctx.emit(MAIL_EVENT, {"breach_id": breach_id, "user_id": user_id,
                              "network_id": payload.get("network_id"),
                              "lead_id": str(row.lead_id), "subject": subject, "text": body,
                              "dpo": payload.get("dpo")})
    log.info("breach %s: %d persons of %s to notify", breach_id, len(rows), user_id)
    return len(rows)


def subject_contact(ctx: OfficeCtx, breach_id: Any, lead_id: Any) -> dict[str, Any]:
    """``{breach_id, lead_id, user_id, email, first_name, last_name}`` of a person requested
    for this breach, decrypted for the mailer to send; NotFound otherwise (an erased lead
    included)."""
    lid = parse_uuid(lead_id)
    if lid is None:
        raise NotFound("No such person to notify")
    n = breach_subject_notices
    requested = one_row(ctx.session, select(n.c.user_id).where(
        n.c.breach_id == str(breach_id)[:64], n.c.lead_id == lid), "person to notify").user_id
    row = one_lead.load(ctx.session, lid, requested)
    if row.erased_at is not None:
        raise NotFound("No such person to notify")
    try:
        data = one_lead.current_data(ctx.vault, row) or {}
    except KeyDestroyed:
        raise NotFound("No such person to notify") from None
    if not data.get("email"):
        raise NotFound("No such person to notify")
    return {"breach_id": str(breach_id), "lead_id": str(row.id), "user_id": row.owner_id,
            "email": data["email"], "first_name": data.get("first_name"),
            "last_name": data.get("last_name")}
