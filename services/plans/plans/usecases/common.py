"""Checks and look-ups shared by the use cases: who is asking, whose plan, which day."""
from __future__ import annotations

import logging
from datetime import date

from plans.context import Ctx
from plans.domain.plan import Plan, PlanStatus
from plans.remote import TodayTotals, Unavailable
from plans.store import PlanRow, load
from suivi_common.auth import Principal, require, require_owner
from suivi_common.errors import Conflict, Invalid

log = logging.getLogger(__name__)

MEMBER_ROLES = ("user", "admin")
INTERNAL_ROLES = ("staff", "service")
CLOSURES_LOCK = "plans:sales-closures"


def member(ctx: Ctx) -> Principal:
    return require(ctx.principal, *MEMBER_ROLES)


def staff(ctx: Ctx) -> Principal:
    return require(ctx.principal, "staff")


def user_lock(ctx: Ctx, user_id: str) -> None:
    """Serialises a user's planned absences with the activation of their plans."""
    ctx.lock(f"plans:user:{user_id}")


def owned_plan(ctx: Ctx, plan_id: object, lock: bool = False) -> PlanRow:
    """The caller's plan; another user's plan is indistinguishable from a missing one."""
    principal = member(ctx)
    return require_owner(principal, load(ctx.session, plan_id, lock=lock), "No such plan")


def parse_date(value: object, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid("Invalid date", fields={field: "expected YYYY-MM-DD"},
                      code="date_invalid") from None


def books_up_to_date(plan: Plan, today: date) -> bool:
    """Every day before today is closed, so ``remaining`` is the balance at today's start."""
    nxt = plan.next_day_to_close
    return plan.status != PlanStatus.ACTIVE or nxt is None or nxt >= today


def today_totals(ctx: Ctx, row: PlanRow, today: date) -> TodayTotals | None:
    """Leads' live totals for today, or None if leads cannot tell."""
    try:
        totals = ctx.leads.plan_today(row.plan.id)
    except Unavailable as exc:
        log.warning("leads.plan_today unavailable for plan %s: %s", row.plan.id, exc)
        return None
    if totals.day != today:
        log.warning("leads.plan_today answered for %s, today is %s", totals.day, today)
        return None
    return totals


def taken_today(ctx: Ctx, row: PlanRow, today: date, required: bool) -> int:
    """Leads already taken today (inside ``remaining`` until the day closes).

    An inactive plan takes nothing. When leads cannot tell: refuse if ``required``
    (a value-preserving conversion must not convert leads already taken), else 0.
    """
    if row.plan.status != PlanStatus.ACTIVE:
        return 0
    totals = today_totals(ctx, row, today)
    if totals is None:
        if required:
            raise Conflict("Today's deliveries cannot be checked right now; try again shortly",
                           code="leads_unavailable")
        log.warning("plan %s: taken today unknown, counted as 0", row.plan.id)
        return 0
    return max(0, min(totals.taken, row.plan.remaining))
