"""Data-subject requests in plans: compliance's ``dsr_task_requested`` for plans, carried
out on the users accounts says the request names (the rules, and what is kept, are in
``plans.domain.subject_requests``).

Work on one request is serialised (an advisory lock on its id), and its record and report
are written in the handler's own transaction: the report leaves once the work is
committed, and a retry finds the record and reports it again instead of acting twice.
No plan row is locked here: an erasure or a restriction touches absences only.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import CursorResult

from plans.context import Ctx
from plans.domain import subject_requests as rules
from plans.domain.subject_requests import Kind, Subject, Task
from plans.models import absences, day_reports, extensions, plans, refund_credits, subject_requests
from plans.remote import CompliancePort
from plans.views import absence_view, extension_view
from suivi_common import clock, dsr
from suivi_common.dsr import Outcome


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def on_task_requested(ctx: Ctx, compliance: CompliancePort, payload: object) -> None:
    """``compliance.dsr_task_requested``: plans' own tasks only, once each."""
    def done(request_id: str) -> Outcome | None:
        record = ctx.session.execute(select(subject_requests).where(
            subject_requests.c.request_id == request_id)).first()
        return None if record is None else Outcome(record.found, record.records_affected)

    def act(task: Task, subject: Subject) -> Outcome:
        who = ctx.accounts.subject_users(task.request_id, subject.email, subject.phone)
        if who.ambiguous:
            return dsr.ambiguous()
        user_ids = list(who.user_ids)
        outcome = _ACTIONS[task.kind](ctx, task, user_ids)
        if outcome.error is None:
            ctx.session.execute(pg_insert(subject_requests).values(
                request_id=task.request_id, kind=task.kind.value, user_ids=user_ids,
                found=outcome.found, records_affected=outcome.records, done_at=clock.now())
                .on_conflict_do_nothing(index_elements=["request_id"]))
        return outcome

    answer = dsr.run_once(payload, rules.SERVICE, done=done, subject=compliance.subject,
                          act=act, lock=lambda request_id: ctx.lock(f"plans:dsr:{request_id}"))
    if answer is not None:
        ctx.emit(dsr.REPORT_EVENT, answer)


def _holds(ctx: Ctx, user_ids: list[str]) -> bool:
    """Whether plans holds anything about these users."""
    if not user_ids:
        return False
    for table in (plans, absences, refund_credits):
        if ctx.session.execute(select(table.c.user_id).where(
                table.c.user_id.in_(user_ids)).limit(1)).first() is not None:
            return True
    return False


# --- access and portability ---------------------------------------------------------------

def export(ctx: Ctx, user_ids: list[str]) -> tuple[dict[str, Any], int]:
    """Everything plans holds about these users, decrypted, and how many records."""
    plan_rows = list(ctx.session.execute(select(plans).where(plans.c.user_id.in_(user_ids))
                                         .order_by(plans.c.created_at, plans.c.id)))
    plan_ids = [r.id for r in plan_rows]
    ordered = [{"id": str(r.id), "user_id": r.user_id, "network_id": r.network_id,
                "status": r.status, "tier": r.tier, "country": r.country,
                "records_ordered": r.records_ordered,
                "records_remaining": r.state.get("remaining"),
                "unit_price_cents": r.state.get("unit_price_cents"),
                "total_cents": r.total_cents, "payment_method": r.payment_method,
                "payment_id": r.payment_id, "start_date": _iso(r.start_date),
                "end_date": _iso(r.end_date), "blocked_dates": r.state.get("blocked_dates"),
                "created_at": _iso(r.created_at), "activated_at": _iso(r.activated_at),
                "cancelled_at": _iso(r.cancelled_at)} for r in plan_rows]
    extended = [extension_view(r) for r in ctx.session.execute(
        select(extensions).where(extensions.c.user_id.in_(user_ids))
        .order_by(extensions.c.created_at))]
    days = [{"plan_id": str(r.plan_id), "day": r.day.isoformat(), "taken": r.taken,
             "shortfall": r.shortfall, "status": r.status}
            for r in ctx.session.execute(select(day_reports).where(
                day_reports.c.plan_id.in_(plan_ids)).order_by(day_reports.c.plan_id,
                                                              day_reports.c.day))] \
        if plan_ids else []
    credits = [{"claim_id": r.claim_id, "plan_id": r.plan_id, "lead_id": r.lead_id,
                "status": r.status, "created_at": _iso(r.created_at)}
               for r in ctx.session.execute(select(refund_credits).where(
                   refund_credits.c.user_id.in_(user_ids)).order_by(refund_credits.c.created_at))]
    away = []
    for r in ctx.session.execute(select(absences).where(absences.c.user_id.in_(user_ids))
                                 .order_by(absences.c.created_at, absences.c.id)):
        details = ctx.decrypt(r.network_id, "absences", "details", r.id, r.details)
        view = absence_view(r, details)
        if r.proof is not None and view["proof"] is not None:
            view["proof"]["content_b64"] = ctx.decrypt(r.network_id, "absences", "proof", r.id,
                                                       r.proof)
        view.update(erased_at=_iso(r.erased_at), processing_restricted_at=_iso(r.restricted_at))
        away.append(view)
    document = {"plans": ordered, "extensions": extended, "day_totals": days,
                "refund_credits": credits, "absences": away}
    return document, sum(len(v) for v in document.values())


def _access(ctx: Ctx, task: Task, user_ids: list[str]) -> Outcome:
    if not _holds(ctx, user_ids):
        return Outcome(found=False)
    document, records = export(ctx, user_ids)
    data = {"service": rules.SERVICE, "kind": task.kind.value, "format_version": 1,
            "user_ids": user_ids, **document}
    return Outcome(found=True, records=records, data=data)


# --- the other kinds ----------------------------------------------------------------------------

def _count(result: Any) -> int:
    return max(0, cast("CursorResult[Any]", result).rowcount or 0)


def _erase(ctx: Ctx, task: Task, user_ids: list[str]) -> Outcome:
    if not _holds(ctx, user_ids):
        return Outcome(found=False)
    a = absences.c
    holding = [a[column].is_not(None) for column in rules.ERASED_ABSENCE_COLUMNS]
    erased = _count(ctx.session.execute(
        update(absences).where(a.user_id.in_(user_ids), a.erased_at.is_(None), or_(*holding))
        .values(erased_at=clock.now(), **dict.fromkeys(rules.ERASED_ABSENCE_COLUMNS))))
    return Outcome(found=True, records=erased)


def _restrict(ctx: Ctx, task: Task, user_ids: list[str]) -> Outcome:
    if not _holds(ctx, user_ids):
        return Outcome(found=False)
    a = absences.c
    restricted = _count(ctx.session.execute(
        update(absences).where(a.user_id.in_(user_ids), a.restricted_at.is_(None))
        .values(restricted_at=clock.now())))
    return Outcome(found=True, records=restricted)


def _nothing_to_change(ctx: Ctx, task: Task, user_ids: list[str]) -> Outcome:
    """Rectification (plans holds none of those fields) and objection (no processing on
    a legitimate interest): found or not, no record changes."""
    return Outcome(found=_holds(ctx, user_ids))


_ACTIONS: dict[Kind, Callable[[Ctx, Task, list[str]], Outcome]] = {
    Kind.ACCESS: _access,
    Kind.PORTABILITY: _access,
    Kind.ERASURE: _erase,
    Kind.RESTRICTION: _restrict,
    Kind.RECTIFICATION: _nothing_to_change,
    Kind.OBJECTION: _nothing_to_change,
}
