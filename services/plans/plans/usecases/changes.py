"""Changes to a running plan: tier change (art. 3.B.iii) and refund credit (art. 3.B.ii).

A tier change re-values what is still owed, so it needs the exact balance: the plan's
past days are closed first, and leads says what was taken today (those leads are
neither converted nor re-priced). If leads cannot tell, the change is refused rather
than guessed. A take racing the change (between leads' answer and the new snapshot
reaching it) is counted at the old tier's value: at most one take's worth.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert

from plans.context import Ctx
from plans.domain.pricing import parse_tier
from plans.models import refund_credits
from plans.store import load, publish
from plans.usecases import books
from plans.usecases.common import books_up_to_date, owned_plan, taken_today, today_totals
from plans.views import plan_view
from suivi_common import clock
from suivi_common.errors import Conflict, SuiviError

log = logging.getLogger(__name__)


def change_tier(ctx: Ctx, plan_id: object, tier: object) -> dict[str, Any]:
    """Switch the plan's tier, value-preserving, at most once per Paris day."""
    row = owned_plan(ctx, plan_id)
    target = parse_tier(tier)
    today = clock.today()
    plan = row.plan
    # cheap refusals first (not active, same tier)
    plan.preview_tier_change(target, ctx.config.table_for(plan.kind))
    if plan.last_tier_change_on == today:
        raise Conflict("Tier can be changed once per calendar day", code="tier_change_daily_limit")
    if not books.catch_up(ctx, plan.id):
        raise Conflict("The plan's past days cannot be closed right now; try again shortly",
                       code="leads_unavailable")
    taken = taken_today(ctx, row, today, required=True)
    row = owned_plan(ctx, plan_id, lock=True)
    if not books_up_to_date(row.plan, today):
        raise Conflict("The plan's past days are not closed yet; try again shortly",
                       code="books_not_closed")
    change = row.plan.change_tier(target, ctx.config.table_for(row.plan.kind), today,
                                  min(taken, row.plan.remaining))
    publish(ctx, row, "plan_changed", reason="tier_change")
    view = plan_view(row, today, today_totals(ctx, row, today))
    view["tier_change"] = {
        "from_tier": change.from_tier.value, "to_tier": change.to_tier.value,
        "records_before": change.records_before, "records_after": change.records_after,
        "unit_price_before_cents": change.unit_price_before_cents,
        "unit_price_after_cents": change.unit_price_after_cents,
        "residue_cents": change.residue_cents,
    }
    return view


def on_refund_approved(ctx: Ctx, payload: dict[str, Any]) -> None:
    """Leads accepted a refund claim: one more record is owed, once per claim."""
    claim_id = str(payload.get("claim_id") or "")[:64]
    plan_id = str(payload.get("plan_id") or "")[:64]
    if not claim_id:
        raise ValueError(f"refund_approved without claim_id: {payload!r}")
    row = load(ctx.session, plan_id, lock=True)
    inserted = ctx.session.execute(pg_insert(refund_credits).values(
        claim_id=claim_id, plan_id=plan_id, lead_id=str(payload.get("lead_id") or "")[:64] or None,
        user_id=str(payload.get("user_id") or "")[:64] or None, status="pending",
        created_at=clock.now()).on_conflict_do_nothing().returning(refund_credits.c.claim_id)).first()
    if inserted is None:
        log.info("refund claim %s already credited", claim_id)
        return
    status, note = "credited", None
    owner = str(payload.get("user_id") or "")
    if row is None:
        status, note = "refused", "unknown plan"
    elif owner and owner != row.plan.user_id:
        status, note = "refused", f"plan belongs to another user than {owner}"
    else:
        try:
            row.plan.credit_refund(clock.today())
        except SuiviError as exc:
            status, note = "refused", str(exc)
        else:
            publish(ctx, row, "plan_changed", reason="refund_credit")
    if status != "credited":
        log.warning("refund claim %s for plan %s not credited: %s", claim_id, plan_id, note)
    ctx.session.execute(refund_credits.update().where(refund_credits.c.claim_id == claim_id)
                        .values(status=status, note=note))
