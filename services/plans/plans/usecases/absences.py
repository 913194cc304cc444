"""Absences (terms art. 3.B.iii "prolonger un PLAN"): planned, and force majeure.

* Planned: accepted at once when the rules hold (notice, one per quarter, an active
  plan); it blocks its days on every active plan of the user, and on plans activated
  later. Serialised per user (advisory lock) with activations, and one per quarter is
  also a unique index.
* Force majeure: declared for one plan, pending until staff decide; the details and the
  proof file may describe health or family matters, so both are encrypted under the
  user's network key. The proof's type is read from its bytes (PDF, JPEG, PNG).
* A data-subject request may erase the details, proof and comment (``erased_at``) or
  restrict them (``restricted_at``: staff no longer see details nor proof); see
  ``usecases.subject_requests``.
"""
from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from sqlalchemy import insert, select, update

from plans.context import Ctx
from plans.domain.absences import PlannedAbsence, request_planned_absence
from plans.domain.force_majeure import (
    ClaimStatus,
    ForceMajeureClaim,
    ForceMajeureReason,
    approve_force_majeure,
    declare_force_majeure,
    reject_force_majeure,
)
from plans.domain.plan import PlanStatus
from plans.domain.proofs import check_proof
from plans.models import absences, plans
from plans.store import entitlement, load, load_where, publish
from plans.usecases.common import member, owned_plan, parse_date, staff, user_lock
from plans.views import absence_view
from suivi_common import clock
from suivi_common.auth import require_owner
from suivi_common.database import row_by_id
from suivi_common.errors import Conflict, Invalid, NotFound
from suivi_common.paging import check_limit, keyset, page

PLANNED, FORCE_MAJEURE = "planned", "force_majeure"
STATUSES = tuple(s.value for s in ClaimStatus)


def request_absence(ctx: Ctx, start_date: object, end_date: object, force_majeure: bool = False,
                    reason: object = None, details: object = None,
                    plan_id: object = None) -> dict[str, Any]:
    start, end = parse_date(start_date, "start_date"), parse_date(end_date, "end_date")
    if force_majeure:
        return _declare_force_majeure(ctx, start, end, reason, details, plan_id)
    return _plan_absence(ctx, start, end)


def _plan_absence(ctx: Ctx, start: Any, end: Any) -> dict[str, Any]:
    principal = member(ctx)
    user_lock(ctx, principal.user_id)
    today = clock.today()
    active = load_where(ctx.session, plans.c.user_id == principal.user_id,
                        plans.c.status == PlanStatus.ACTIVE.value, lock=True)
    before = {row.plan.id: entitlement(row) for row in active}
    previous = [PlannedAbsence(str(a.id), a.user_id, a.start_date, a.end_date, a.requested_on)
                for a in ctx.session.execute(select(absences).where(
                    absences.c.user_id == principal.user_id, absences.c.kind == PLANNED))]
    absence = request_planned_absence(
        absence_id=str(uuid.uuid4()), user_id=principal.user_id, start_date=start, end_date=end,
        today=today, previous_absences=previous, plans=[row.plan for row in active],
        rules=ctx.config.rules)
    year, quarter = absence.quarter
    touched = [row for row in active if row.plan.status == PlanStatus.ACTIVE]
    for row in touched:
        publish(ctx, row, "plan_changed", reason="planned_absence", before=before[row.plan.id])
    absence_id = uuid.UUID(absence.id)
    ctx.session.execute(insert(absences).values(
        id=absence_id, kind=PLANNED, user_id=principal.user_id,
        network_id=principal.network_id or "", plan_ids=[row.plan.id for row in touched],
        start_date=start, end_date=end, requested_on=today, quarter=f"{year}-Q{quarter}",
        status=ClaimStatus.APPROVED.value, decided_on=today, created_at=clock.now()))
    ctx.emit("absence_approved", {
        "absence_id": absence.id, "kind": PLANNED, "user_id": principal.user_id,
        "network_id": principal.network_id, "plan_ids": [row.plan.id for row in touched],
        "start_date": start.isoformat(), "end_date": end.isoformat(), "records_restored": 0})
    return _view(ctx, _get(ctx, absence_id))


def _declare_force_majeure(ctx: Ctx, start: Any, end: Any, reason: object, details: object,
                           plan_id: object) -> dict[str, Any]:
    principal = member(ctx)
    if plan_id in (None, ""):
        raise Invalid("A force-majeure absence names its plan", fields={"plan_id": "is required"},
                      code="plan_id_required")
    row = owned_plan(ctx, plan_id)
    if details is not None and not isinstance(details, str):
        raise Invalid("details must be text", fields={"details": "must be a string"})
    claim = declare_force_majeure(
        claim_id=str(uuid.uuid4()), plan=row.plan, start_date=start, end_date=end,
        reason=reason, details=details or "", today=clock.today(),  # type: ignore[arg-type]
        rules=ctx.config.rules)
    claim_id = uuid.UUID(claim.id)
    ctx.session.execute(insert(absences).values(
        id=claim_id, kind=FORCE_MAJEURE, user_id=principal.user_id, network_id=row.network_id,
        plan_id=row.id, plan_ids=[row.plan.id], start_date=start, end_date=end,
        requested_on=claim.declared_on, status=claim.status.value, reason=claim.reason.value,
        details=ctx.encrypt(row.network_id, "absences", "details", claim_id, claim.details or None),
        created_at=clock.now()))
    return _view(ctx, _get(ctx, claim_id))


def _get(ctx: Ctx, absence_id: object, lock: bool = False) -> Any:
    return row_by_id(ctx.session, absences, absence_id, "absence", lock)


def _owned(ctx: Ctx, absence_id: object, lock: bool = False) -> Any:
    principal = member(ctx)
    return require_owner(principal, _get(ctx, absence_id, lock), "No such absence")


def _view(ctx: Ctx, row: Any, for_staff: bool = False) -> dict[str, Any]:
    """The absence; staff do not see the details of one whose processing the user had
    restricted (GDPR art. 18, ``usecases.subject_requests``)."""
    hidden = for_staff and row.restricted_at is not None
    details = ctx.decrypt(row.network_id, "absences", "details", row.id, row.details) \
        if row.details is not None and not hidden else None
    return absence_view(row, details)


def upload_proof(ctx: Ctx, absence_id: object, content_b64: object) -> dict[str, Any]:
    """Attach (or replace) the proof of a pending force-majeure claim."""
    row = _owned(ctx, absence_id, lock=True)
    if row.kind != FORCE_MAJEURE:
        raise Conflict("Only a force-majeure absence takes a proof", code="proof_not_expected")
    if row.status != ClaimStatus.PENDING.value:
        raise Conflict(f"The claim is already {row.status}", code="force_majeure_already_decided")
    try:
        data = base64.b64decode(str(content_b64), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("The proof is not valid base64", fields={"proof": "invalid encoding"},
                      code="proof_invalid") from None
    mime = check_proof(data, ctx.config.rules.proof_max_bytes)
    ctx.session.execute(update(absences).where(absences.c.id == row.id).values(
        proof=ctx.encrypt(row.network_id, "absences", "proof", row.id,
                          base64.b64encode(data).decode()),
        proof_mime=mime, proof_size=len(data), proof_uploaded_at=clock.now()))
    return _view(ctx, _get(ctx, row.id))


def get_proof(ctx: Ctx, absence_id: object) -> dict[str, Any]:
    """Staff (or the claim's owner) read the proof back."""
    if ctx.principal is not None and ctx.principal.role == "staff":
        row = _get(ctx, absence_id)
        if row.restricted_at is not None:
            raise Conflict("The user had the processing of this proof restricted",
                           code="processing_restricted")
    else:
        row = _owned(ctx, absence_id)
    if row.proof is None:
        raise NotFound("This absence has no proof")
    content = ctx.decrypt(row.network_id, "absences", "proof", row.id, row.proof)
    return {"mime": row.proof_mime, "size": row.proof_size, "content_b64": content}


def list_absences(ctx: Ctx, cursor: object = None, limit: object = None) -> dict[str, Any]:
    principal = member(ctx)
    size = check_limit(limit)
    rows = ctx.session.execute(keyset(
        select(absences).where(absences.c.user_id == principal.user_id), absences, cursor, size,
        newest_first=True)).all()
    return page(rows, size, [_view(ctx, r) for r in rows[:size]])


def staff_list_absences(ctx: Ctx, status: object = None, cursor: object = None,
                        limit: object = None) -> dict[str, Any]:
    """Force-majeure claims for staff to decide (``status`` pending by default)."""
    staff(ctx)
    wanted = status or ClaimStatus.PENDING.value
    if wanted not in STATUSES:
        raise Invalid("Unknown status", fields={"status": "one of " + ", ".join(STATUSES)})
    size = check_limit(limit)
    rows = ctx.session.execute(keyset(
        select(absences).where(absences.c.kind == FORCE_MAJEURE, absences.c.status == wanted),
        absences, cursor, size, newest_first=True)).all()
    return page(rows, size, [_view(ctx, r, for_staff=True) for r in rows[:size]])


def decide(ctx: Ctx, absence_id: object, approve: object, comment: object = None) -> dict[str, Any]:
    """Staff approve (the plan's end moves back, forfeits return) or reject with a comment."""
    principal = staff(ctx)
    if not isinstance(approve, bool):
        raise Invalid("approve must be true or false", fields={"approve": "must be a boolean"})
    if comment is not None and not isinstance(comment, str):
        raise Invalid("comment must be text", fields={"comment": "must be a string"})
    row = _get(ctx, absence_id, lock=True)
    if row.kind != FORCE_MAJEURE:
        raise NotFound("No such force-majeure claim")
    plan_row = load(ctx.session, row.plan_id, lock=True)
    assert plan_row is not None
    claim = _claim(ctx, row)
    today = clock.today()
    if approve:
        outcome = approve_force_majeure(claim, plan_row.plan, today, comment)
        publish(ctx, plan_row, "plan_changed", reason="force_majeure")
    else:
        reject_force_majeure(claim, today, comment or "")
    ctx.session.execute(update(absences).where(absences.c.id == row.id).values(
        status=claim.status.value, decided_on=today, decided_by=principal.user_id,
        staff_comment=claim.staff_comment, records_restored=claim.records_restored))
    event = {"absence_id": str(row.id), "kind": FORCE_MAJEURE, "user_id": row.user_id,
             "network_id": row.network_id, "plan_ids": [str(row.plan_id)],
             "start_date": row.start_date.isoformat(), "end_date": row.end_date.isoformat(),
             "comment": claim.staff_comment}
    if approve:
        ctx.emit("absence_approved", {**event, "records_restored": outcome.records_restored,
                                      "plan_reopened": outcome.reopened})
    else:
        ctx.emit("absence_rejected", event)
    return _view(ctx, _get(ctx, row.id), for_staff=True)


def _claim(ctx: Ctx, row: Any) -> ForceMajeureClaim:
    details = ctx.decrypt(row.network_id, "absences", "details", row.id, row.details) \
        if row.details is not None else ""
    return ForceMajeureClaim(
        id=str(row.id), user_id=row.user_id, plan_id=str(row.plan_id), start_date=row.start_date,
        end_date=row.end_date, reason=ForceMajeureReason(row.reason), details=details or "",
        declared_on=row.requested_on, status=ClaimStatus(row.status), decided_on=row.decided_on,
        staff_comment=row.staff_comment, records_restored=row.records_restored)
