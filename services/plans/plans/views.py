"""What the API shows of plans, extensions, absences and closures (JSON-ready dicts)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from plans.domain.plan import PlanStatus
from plans.domain.quota import daily_quota
from plans.domain.rules import PLAN_DAYS
from plans.remote import TodayTotals
from plans.store import PlanRow, schedule


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def plan_view(row: PlanRow, today: date, live: TodayTotals | None) -> dict[str, Any]:
    """A plan as its owner sees it.

    ``records_remaining`` is what is still owed at the start of today (the first day not
    closed yet); leads taken today are deducted when the day closes and show meanwhile
    in ``today.taken``. ``today.live`` is False when leads could not be asked, and
    ``taken``/``shortfall`` are then 0.
    """
    plan = row.plan
    if plan.status == PlanStatus.PENDING_PAYMENT:
        quota = daily_quota(plan.remaining, PLAN_DAYS)
        today_quota = 0
    else:
        today_quota = quota = schedule(plan).get(today, 0)
    return {
        "id": plan.id, "status": plan.status.value, "tier": plan.tier.value,
        "kind": plan.kind, "country": plan.country, "records_total": plan.records_ordered,
        "records_remaining": plan.remaining, "daily_quota": quota,
        "start_date": _iso(plan.start_date), "end_date": _iso(plan.end_date),
        "credit_cents": plan.credit_cents, "unit_price_cents": plan.unit_price_cents,
        "total_cents": row.total_cents, "payment_id": row.payment_id,
        "created_at": _iso(row.created_at), "activated_on": _iso(plan.activated_on),
        "last_closed_date": _iso(plan.last_closed_date),
        "blocked_dates": [d.isoformat() for d in sorted(plan.blocked_dates)
                          if plan.start_date is None or d >= plan.start_date],
        "tier_changed_on": _iso(plan.last_tier_change_on),
        "today": {"date": today.isoformat(), "quota": today_quota,
                  "taken": live.taken if live else 0, "shortfall": live.shortfall if live else 0,
                  "live": live is not None},
    }


def extension_view(ext: Any) -> dict[str, Any]:
    return {"id": str(ext.id), "plan_id": str(ext.plan_id), "status": ext.status,
            "tier": ext.tier, "records": ext.records, "unit_price_cents": ext.unit_price_cents,
            "gross_cents": ext.gross_cents, "credit_applied_cents": ext.credit_applied_cents,
            "total_cents": ext.total_cents, "payment_id": ext.payment_id,
            "created_at": _iso(ext.created_at), "applied_at": _iso(ext.applied_at)}


def absence_view(row: Any, details: str | None) -> dict[str, Any]:
    proof = None
    if row.proof_mime:
        proof = {"mime": row.proof_mime, "size": row.proof_size,
                 "uploaded_at": _iso(row.proof_uploaded_at)}
    return {"id": str(row.id), "kind": row.kind, "status": row.status, "user_id": row.user_id,
            "plan_id": str(row.plan_id) if row.plan_id else None, "plan_ids": list(row.plan_ids),
            "start_date": row.start_date.isoformat(), "end_date": row.end_date.isoformat(),
            "requested_on": row.requested_on.isoformat(), "reason": row.reason, "details": details,
            "decided_on": _iso(row.decided_on), "staff_comment": row.staff_comment,
            "records_restored": row.records_restored, "proof": proof,
            "created_at": _iso(row.created_at)}


def closure_view(row: Any) -> dict[str, Any]:
    return {"id": str(row.id), "start_date": row.start_date.isoformat(),
            "end_date": row.end_date.isoformat(), "countries": list(row.countries),
            "tiers": list(row.tiers), "reason": row.reason, "plans_affected": row.plans_affected,
            "declared_by": row.declared_by, "created_at": _iso(row.created_at)}
