"""Day close: asking leads to close the books, and applying what leads reports.

Leads freezes each plan's ``taken`` and ``shortfall`` for a day once (``close_books``)
and reports them (its answer, and the ``plan_day_closed`` event). Plans stores every
report in ``day_reports`` and applies, under the plan's row lock, the pending reports
that are next in line: a report for day D+1 that arrives before D's waits, stored,
until D's arrives (whichever of the RPC answer or the event brings it first). A report
for a day already closed is a no-op, so the answer and the event, a redelivery, or two
instances applying at once all converge on one application per plan and day.

The timer (and the staff endpoint) walks every date from the oldest unclosed one to
yesterday in order, one ``close_books`` call per date, so a service that was down for
days catches up in date order. If leads is down, nothing changes and the next tick
retries.
"""
from __future__ import annotations

import dataclasses
import logging
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from plans.context import Ctx
from plans.domain.day_close import DayReport, close_day
from plans.domain.paris_calendar import ONE_DAY, date_span
from plans.domain.plan import PlanStatus
from plans.models import day_reports, plans
from plans.remote import DayTotals, Unavailable
from plans.store import PlanRow, load, publish
from plans.usecases.common import parse_date, staff
from suivi_common import clock
from suivi_common.errors import Conflict, Invalid
from suivi_common.ids import parse_uuid

log = logging.getLogger(__name__)

PENDING, APPLIED, IGNORED = "pending", "applied", "ignored"
CLOSE_BATCH = 200  # plans per close_books call: each call stays well inside the RPC timeout


def record(ctx: Ctx, totals: DayTotals) -> bool:
    """Store one report and apply what is next in line; True if the plan changed."""
    row = load(ctx.session, totals.plan_id, lock=True)
    if row is None:
        log.warning("day totals for unknown plan %s ignored", totals.plan_id)
        return False
    ctx.session.execute(pg_insert(day_reports).values(
        plan_id=row.id, day=totals.day, taken=totals.taken, shortfall=totals.shortfall,
        status=PENDING, received_at=clock.now()).on_conflict_do_nothing())
    return apply_ready(ctx, row)


def apply_ready(ctx: Ctx, row: PlanRow) -> bool:
    """Apply the plan's pending reports from its next day to close, in date order.

    The caller holds the plan's row lock. One snapshot is emitted for the whole run.
    """
    today, plan = clock.today(), row.plan
    pending = ctx.session.execute(
        select(day_reports).where(day_reports.c.plan_id == row.id, day_reports.c.status == PENDING)
        .order_by(day_reports.c.day)).all()
    changed = False
    for report in pending:
        nxt = plan.next_day_to_close
        if plan.status != PlanStatus.ACTIVE or nxt is None or report.day < nxt:
            _mark(ctx, row, report.day, IGNORED, None)
            continue
        if report.day > nxt or report.day >= today:
            break  # an earlier day is still missing: wait for its report
        taken = report.taken
        if taken > plan.remaining:
            log.warning("plan %s %s: leads reports %d taken, only %d remained; capped",
                        plan.id, report.day, taken, plan.remaining)
            taken = plan.remaining
        result = close_day(plan, DayReport(report.day, taken, report.shortfall), today)
        outcome = {k: (v.isoformat() if isinstance(v, date) else v)
                   for k, v in dataclasses.asdict(result).items()}
        _mark(ctx, row, report.day, APPLIED, outcome)
        changed = True
    if changed:
        event = "plan_completed" if plan.status == PlanStatus.COMPLETED else "plan_changed"
        publish(ctx, row, event, reason="day_close")
    return changed


def _mark(ctx: Ctx, row: PlanRow, day: date, status: str, outcome: dict[str, Any] | None) -> None:
    ctx.session.execute(update(day_reports).where(
        day_reports.c.plan_id == row.id, day_reports.c.day == day).values(
        status=status, outcome=outcome, applied_at=clock.now()))


def _oldest_open(ctx: Ctx, up_to: date) -> date | None:
    return ctx.session.execute(select(func.min(plans.c.next_close_date)).where(
        plans.c.status == PlanStatus.ACTIVE.value, plans.c.next_close_date <= up_to)).scalar()


def _open_on(ctx: Ctx, day: date) -> list[str]:
    rows = ctx.session.execute(select(plans.c.id).where(
        plans.c.status == PlanStatus.ACTIVE.value, plans.c.next_close_date <= day,
        plans.c.start_date <= day).order_by(plans.c.id))
    return [str(r.id) for r in rows]


def close_dates(ctx: Ctx, up_to: date) -> list[dict[str, Any]]:
    """Close every open date up to ``up_to`` (at most yesterday), oldest first.

    Each date's reports are applied plan by plan in their own transactions before the
    next date is asked for. Raises ``Unavailable`` when leads does not answer; what
    was applied before stays applied.
    """
    last = min(up_to, clock.today() - ONE_DAY)
    with ctx.separate() as tx:
        oldest = _oldest_open(tx, last)
    if oldest is None:
        return []
    summary = []
    for day in date_span(oldest, last):
        with ctx.separate() as tx:
            plan_ids = _open_on(tx, day)
        if not plan_ids:
            continue
        reports = [totals for start in range(0, len(plan_ids), CLOSE_BATCH)
                   for totals in ctx.leads.close_books(day, plan_ids[start:start + CLOSE_BATCH])]
        applied = 0
        for totals in sorted(reports, key=lambda t: (t.plan_id, t.day)):
            with ctx.separate() as tx:
                applied += record(tx, totals)
        summary.append({"date": day.isoformat(), "plans": len(plan_ids), "reported": len(reports),
                        "applied": applied})
    return summary


def tick(ctx: Ctx) -> list[dict[str, Any]]:
    """Timer: close what is due; if leads is down, log and let the next tick retry."""
    try:
        return close_dates(ctx, clock.today() - ONE_DAY)
    except Unavailable as exc:
        log.warning("day close postponed, leads unavailable: %s", exc)
        return []


def close_by_hand(ctx: Ctx, day: object) -> dict[str, Any]:
    """Staff: close ``day`` (and any earlier open day first); idempotent."""
    staff(ctx)
    target = parse_date(day, "date")
    if target >= clock.today():
        raise Invalid("Only a past day can be closed", fields={"date": "must be before today"},
                      code="day_close_not_over")
    try:
        closed = close_dates(ctx, target)
    except Unavailable as exc:
        log.warning("staff day close failed, leads unavailable: %s", exc)
        raise Conflict("Leads cannot close its books right now; try again shortly",
                       code="leads_unavailable") from None
    with ctx.separate() as tx:
        still_open = len(_open_on(tx, target))
        waiting = tx.session.execute(select(func.count()).select_from(day_reports).where(
            day_reports.c.status == PENDING, day_reports.c.day <= target)).scalar_one()
    return {"date": target.isoformat(), "dates": closed, "plans_still_open": still_open,
            "reports_waiting": int(waiting)}


def catch_up(ctx: Ctx, plan_id: str, max_days: int = 62) -> bool:
    """Close one plan's past days now (before a tier change, an extension, a withdrawal).

    Uses its own transactions, so the caller must not hold the plan's lock yet.
    Returns whether the plan's books reached today.
    """
    today = clock.today()
    asked: date | None = None
    for _ in range(max_days):
        with ctx.separate() as tx:
            row = load(tx.session, plan_id, lock=True)
            if row is None:
                return False
            # the report of the next day may be waiting already (its event came first)
            apply_ready(tx, row)
            plan = row.plan
            nxt = plan.next_day_to_close
            if plan.status != PlanStatus.ACTIVE or nxt is None or nxt >= today:
                return True
        if asked == nxt:
            log.warning("catch-up of plan %s stuck at %s: leads did not report it", plan.id, nxt)
            return False
        asked = nxt
        try:
            reports = ctx.leads.close_books(nxt, [plan.id])
        except Unavailable as exc:
            log.warning("catch-up of plan %s stopped at %s: %s", plan.id, nxt, exc)
            return False
        for totals in reports:
            if parse_uuid(totals.plan_id) == row.id:
                with ctx.separate() as tx:
                    record(tx, totals)
    return False


def on_day_closed(ctx: Ctx, totals: DayTotals) -> None:
    """``plan_day_closed`` from leads (reliable handler, in the worker's transaction)."""
    record(ctx, totals)
