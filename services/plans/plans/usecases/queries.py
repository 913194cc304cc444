"""Reading plans: the owner's views, entitlements for leads, the staff demand forecast."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from plans.context import Ctx
from plans.domain.forecast import forecast_demand
from plans.domain.plan import PlanStatus
from plans.models import extensions, plans
from plans.store import from_record, load, load_where, snapshot
from plans.usecases.common import INTERNAL_ROLES, member, owned_plan, staff, today_totals
from plans.views import extension_view, plan_view
from suivi_common import clock
from suivi_common.auth import require, require_owner, require_service
from suivi_common.errors import Invalid, NotFound
from suivi_common.paging import check_limit, keyset, page

STATUSES = tuple(s.value for s in PlanStatus)


def get_plan(ctx: Ctx, plan_id: object) -> dict[str, Any]:
    """One plan with today's quota and, from leads, what was taken today."""
    if ctx.principal is not None and ctx.principal.role == "staff":
        row = load(ctx.session, plan_id)
        if row is None:
            raise NotFound("No such plan")
    else:
        row = owned_plan(ctx, plan_id)
    today = clock.today()
    live = today_totals(ctx, row, today) if row.plan.status == PlanStatus.ACTIVE else None
    view = plan_view(row, today, live)
    view["extensions"] = [extension_view(e) for e in ctx.session.execute(
        select(extensions).where(extensions.c.plan_id == row.id)
        .order_by(extensions.c.created_at.desc()).limit(20))]
    return view


def list_plans(ctx: Ctx, cursor: object = None, limit: object = None,
               status: object = None) -> dict[str, Any]:
    """The caller's plans, newest first (live ``today`` numbers only on the single view)."""
    principal = member(ctx)
    size = check_limit(limit)
    query = select(plans).where(plans.c.user_id == principal.user_id)
    if status is not None:
        if status not in STATUSES:
            raise Invalid("Unknown status", fields={"status": "one of " + ", ".join(STATUSES)})
        query = query.where(plans.c.status == status)
    rows = ctx.session.execute(keyset(query, plans, cursor, size, newest_first=True)).all()
    today = clock.today()
    return page(rows, size, [plan_view(from_record(r), today, None) for r in rows[:size]])


def active_entitlements(ctx: Ctx) -> list[dict[str, Any]]:
    """Snapshots of every active plan: leads' start-up re-sync."""
    require_service(ctx.principal)  # plans' own timers act as plans
    return [snapshot(row) for row in load_where(ctx.session, plans.c.status == PlanStatus.ACTIVE.value)]


def running_plan_owners(ctx: Ctx, user_ids: object) -> list[str]:
    """Which of ``user_ids`` still have a plan running: accounts warns them that without an
    office they cannot take its leads (terms art. 10) in the end-of-subscription reminder."""
    require_service(ctx.principal, ("accounts",))
    if not isinstance(user_ids, list) or len(user_ids) > 1000:
        raise Invalid("invalid user ids", fields={"user_ids": "a list of at most 1000 ids"})
    rows = ctx.session.execute(select(plans.c.user_id).distinct().where(
        plans.c.status == PlanStatus.ACTIVE.value, plans.c.user_id.in_([str(u) for u in user_ids])))
    return sorted(str(r.user_id) for r in rows)


def get_plan_for_owner(ctx: Ctx, plan_id: object) -> dict[str, Any]:
    """A plan's snapshot, for its owner or for another service (not another member)."""
    principal = require(ctx.principal)
    row = require_owner(principal, load(ctx.session, plan_id), "No such plan", INTERNAL_ROLES)
    return snapshot(row)


def forecast(ctx: Ctx, days: object = 14) -> dict[str, Any]:
    """Expected demand per day x country x tier, if every active plan takes its quotas."""
    staff(ctx)
    if isinstance(days, int) and not isinstance(days, bool) and days > ctx.config.forecast_max_days:
        raise Invalid(f"The forecast covers at most {ctx.config.forecast_max_days} days",
                      fields={"days": f"at most {ctx.config.forecast_max_days}"},
                      code="forecast_horizon_invalid")
    today = clock.today()
    active = load_where(ctx.session, plans.c.status == PlanStatus.ACTIVE.value)
    demand = forecast_demand([row.plan for row in active], today, days)  # type: ignore[arg-type]
    items = [{"date": key.day.isoformat(), "country": key.country, "tier": key.tier.value,
              "kind": key.kind, "records": records} for key, records in demand.items()]
    per_day: dict[str, int] = {}
    for key, records in demand.items():
        per_day[key.day.isoformat()] = per_day.get(key.day.isoformat(), 0) + records
    return {"from_date": today.isoformat(), "days": days, "items": items,
            "per_day": [{"date": d, "records": n} for d, n in sorted(per_day.items())],
            "total": sum(per_day.values()), "active_plans": len(active)}
