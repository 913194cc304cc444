"""Refund claims on purchased leads (terms 3.B.ii): filing, automatic checks, decision.

Filing, in order: the reason is validated; the eligibility rules of
``domain.refunds.check_claim_allowed`` are checked (erased, personal, edited by the user,
already claimed, window closed: each a 409 naming its rule); the automatic checks run on
the record as delivered (phones, countries, e-mail domain over DNS, names); then the lead
row is locked, the rules are checked again (an edit may have landed during the DNS
lookup) and the claim is inserted. The unique ``lead_id`` settles two racing claims.
The slow DNS lookup happens before the lock, so an edit never waits for it.

Deciding: a conditional ``UPDATE ... WHERE status = 'pending'`` moves the claim once; the
approval event ``refund_approved`` is written in that same transaction, so it exists
exactly once per claim whatever the number of attempts or instances (a second decision is
a 409; plans also credits once per claim id).
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from leads.domain import office_records as records
from leads.domain.refund_checks import run_checks
from leads.domain.refunds import ClaimFacts, LeadOrigin, check_claim_allowed, parse_refund_reason
from leads.models import refund_claims
from leads.settings import TUNABLES
from leads.usecases.office import history, one_lead
from leads.usecases.office.context import OfficeCtx, decrypt_json, encrypt_json, scope_of
from suivi_common.database import one_row
from suivi_common.errors import Conflict, Invalid, NotFound
from suivi_common.ids import parse_uuid
from suivi_common.paging import keyset, page

STATUSES = ("pending", "approved", "rejected")
COMMENT_MAX = 2000
Resolver = Callable[[str], bool]


def _comment(value: Any, field: str = "comment") -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise Invalid("invalid comment", fields={field: "must be a string"})
    if len(value) > COMMENT_MAX:
        raise Invalid("the comment is too long", fields={field: f"at most {COMMENT_MAX} characters"})
    return value.strip()


def _check_rules(ctx: OfficeCtx, row: Any) -> None:
    claimed = ctx.session.execute(select(exists().where(refund_claims.c.lead_id == row.id))).scalar()
    facts = ClaimFacts(origin=LeadOrigin(row.origin), delivered_at=row.delivered_at,
                       erased=row.erased_at is not None,
                       edited_by_user=history.user_edited(ctx.session, row.id),
                       already_claimed=bool(claimed))
    check_claim_allowed(facts, ctx.now, TUNABLES.get_int("REFUND_WINDOW_DAYS"))


def file_claim(ctx: OfficeCtx, owner_id: str, lead_id: Any, reason: Any, comment: Any,
               resolver: Resolver) -> dict[str, Any]:
    why = parse_refund_reason(reason)
    text = _comment(comment)
    row = one_lead.load(ctx.session, lead_id, owner_id)
    _check_rules(ctx, row)
    initial = one_lead.initial_data(ctx.vault, row) or {}
    lead = records.lead_from_stored(initial)
    checks = run_checks(lead, row.plan_country or lead.country, resolver)

    row = one_lead.load(ctx.session, row.id, owner_id, lock=True)
    _check_rules(ctx, row)
    claim_id = uuid.uuid4()
    scope = scope_of(row)
    inserted = ctx.session.execute(pg_insert(refund_claims).values(
        id=claim_id, lead_id=row.id, user_id=row.owner_id, network_id=row.network_id,
        key_scope=row.key_scope,
        plan_id=row.plan_id, reason=str(why), status="pending", created_at=ctx.now,
        comment=ctx.vault.encrypt(scope, "refund_claims", "comment", claim_id, text),
        checks=encrypt_json(ctx.vault, scope, "refund_claims", "checks", claim_id, checks),
    ).on_conflict_do_nothing(index_elements=["lead_id"]).returning(refund_claims.c.id)).first()
    if inserted is None:
        raise Conflict("a refund was already claimed for this lead",
                       code="refund_claim_already_claimed")
    return _load_view(ctx, claim_id, staff=False)


def _view(ctx: OfficeCtx, row: Any, staff: bool) -> dict[str, Any]:
    vault, scope = ctx.vault, scope_of(row)
    out = {"id": str(row.id), "lead_id": str(row.lead_id), "plan_id": row.plan_id,
           "reason": row.reason, "status": row.status,
           "comment": vault.decrypt(scope, "refund_claims", "comment", row.id, row.comment),
           "created_at": records.iso(row.created_at), "decided_at": records.iso(row.decided_at),
           "decision_comment": vault.decrypt(scope, "refund_claims", "decision_comment", row.id,
                                             row.decision_comment)}
    if staff:
        lead = one_lead.load(ctx.session, row.lead_id, with_deleted=True)
        initial = one_lead.initial_data(vault, lead)
        out.update({
            "user_id": row.user_id, "network_id": row.network_id, "decided_by": row.decided_by,
            "checks": decrypt_json(vault, scope, "refund_claims", "checks", row.id, row.checks),
            "lead": {"origin": lead.origin, "delivered_at": records.iso(lead.delivered_at),
                     "plan_country": lead.plan_country, "erased": lead.erased_at is not None,
                     "initial": records.flat(initial) if initial is not None else None}})
    return out


def _load_view(ctx: OfficeCtx, claim_id: uuid.UUID, staff: bool) -> dict[str, Any]:
    row = ctx.session.execute(select(refund_claims).where(refund_claims.c.id == claim_id)).one()
    return _view(ctx, row, staff)


def _page(ctx: OfficeCtx, where: list[Any], kind: str, newest_first: bool, cursor: str | None,
          limit: int, staff: bool) -> dict[str, Any]:
    c = refund_claims
    rows = ctx.session.execute(keyset(select(c).where(*where), c, cursor, limit,
                                      newest_first=newest_first, kind=kind)).all()
    return page(rows, limit, [_view(ctx, r, staff) for r in rows[:limit]], kind=kind)


def mine(ctx: OfficeCtx, user_id: str, cursor: str | None, limit: int) -> dict[str, Any]:
    """The user's claims and their decisions, newest first."""
    return _page(ctx, [refund_claims.c.user_id == user_id], "claims:mine", True, cursor, limit,
                 staff=False)


def for_staff(ctx: OfficeCtx, status: Any, cursor: str | None, limit: int) -> dict[str, Any]:
    """Claims to decide (oldest first: a queue), with their checks and the lead as delivered."""
    where = []
    if status not in (None, ""):
        if status not in STATUSES:
            raise Invalid("unknown status", fields={"status": " | ".join(STATUSES)})
        where.append(refund_claims.c.status == status)
    return _page(ctx, where, f"claims:staff:{status or ''}", False, cursor, limit, staff=True)


def decide(ctx: OfficeCtx, claim_id: Any, approve: Any, comment: Any) -> dict[str, Any]:
    """The platform's final decision; approval credits the plan one record (via plans)."""
    if not isinstance(approve, bool):
        raise Invalid("approve must be a boolean", fields={"approve": "true or false"})
    cid = parse_uuid(claim_id)
    if cid is None:
        raise NotFound("No such refund claim")
    text = _comment(comment)
    status = "approved" if approve else "rejected"
    c = refund_claims
    scope = scope_of(one_row(ctx.session, select(c.c.network_id, c.c.key_scope)
                             .where(c.c.id == cid), "refund claim"))
    row = ctx.session.execute(
        update(c).where(c.c.id == cid, c.c.status == "pending")
        .values(status=status, decided_at=ctx.now, decided_by=ctx.actor.user_id,
                decision_comment=ctx.vault.encrypt(scope, "refund_claims", "decision_comment",
                                                   cid, text))
        .returning(c)).first()
    if row is None:
        raise Conflict("This refund claim was already decided", code="refund_claim_decided")
    if approve:
        ctx.emit("refund_approved", {"claim_id": str(row.id), "lead_id": str(row.lead_id),
                                     "plan_id": row.plan_id, "user_id": row.user_id})
    ctx.emit("refund_claim_decided", {"claim_id": str(row.id), "lead_id": str(row.lead_id),
                                      "user_id": row.user_id, "network_id": row.network_id,
                                      "status": status, "cause": "staff_decision"})
    return _view(ctx, row, staff=True)
