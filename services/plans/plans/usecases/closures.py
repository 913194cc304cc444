"""Sales closures (terms art. 8.B): staff close sales for some days, possibly only for
some countries and tiers; every concerned active plan ends that much later.

Declaring takes an exclusive advisory lock that activations take shared, so a plan
activated while a closure is being declared is either locked and lengthened here, or
activated afterwards and sees the closure (``ordering._apply_known_blocks``).
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select

from plans.context import Ctx
from plans.domain.closures import apply_sales_closure, declare_sales_closure
from plans.domain.plan import PlanStatus
from plans.models import plans, sales_closures
from plans.store import entitlement, load_where, publish
from plans.usecases.common import CLOSURES_LOCK, parse_date, staff
from plans.views import closure_view
from suivi_common import clock
from suivi_common.errors import Invalid
from suivi_common.paging import check_limit, keyset, page


def _strings(value: object, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{field} must be a list of strings", fields={field: "must be a list of strings"})
    return value


def declare(ctx: Ctx, start_date: object, end_date: object, countries: object = None,
            tiers: object = None, reason: object = "") -> dict[str, Any]:
    principal = staff(ctx)
    if reason is not None and not isinstance(reason, str):
        raise Invalid("reason must be text", fields={"reason": "must be a string"})
    closure = declare_sales_closure(
        closure_id=str(uuid.uuid4()), start_date=parse_date(start_date, "start_date"),
        end_date=parse_date(end_date, "end_date"), today=clock.today(),
        countries=_strings(countries, "countries"), tiers=_strings(tiers, "tiers"),
        reason=reason or "")
    ctx.lock(CLOSURES_LOCK)
    where = [plans.c.status == PlanStatus.ACTIVE.value]
    if closure.countries:
        where.append(plans.c.country.in_(sorted(closure.countries)))
    if closure.tiers:
        where.append(plans.c.tier.in_(sorted(t.value for t in closure.tiers)))
    concerned = load_where(ctx.session, *where, lock=True)
    before = {row.plan.id: entitlement(row) for row in concerned}
    touched = set(apply_sales_closure(closure, [row.plan for row in concerned]))
    changed = []
    for row in concerned:
        if row.plan.id in touched and publish(ctx, row, "plan_changed", reason="sales_closure",
                                              before=before[row.plan.id]):
            changed.append(row.plan.id)
    data = closure.to_dict()
    ctx.session.execute(insert(sales_closures).values(
        id=uuid.UUID(closure.id), start_date=closure.start_date, end_date=closure.end_date,
        countries=data["countries"], tiers=data["tiers"], reason=closure.reason,
        declared_by=principal.user_id, plans_affected=len(changed), created_at=clock.now()))
    ctx.emit("sales_closure_declared", {
        "closure_id": closure.id, "start_date": data["start_date"], "end_date": data["end_date"],
        "countries": data["countries"], "tiers": data["tiers"], "reason": closure.reason,
        "plan_ids": changed})
    saved = ctx.session.execute(select(sales_closures).where(
        sales_closures.c.id == uuid.UUID(closure.id))).one()
    return closure_view(saved)


def list_closures(ctx: Ctx, cursor: object = None, limit: object = None) -> dict[str, Any]:
    staff(ctx)
    size = check_limit(limit)
    rows = ctx.session.execute(keyset(select(sales_closures), sales_closures, cursor, size,
                                      newest_first=True)).all()
    return page(rows, size, [closure_view(r) for r in rows[:size]])
