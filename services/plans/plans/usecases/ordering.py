"""Buying plans and extensions, paying for them, and withdrawing (terms art. 3.B.iii, 6).

* The price is computed from the table in force when the order is placed and is the
  amount asked of accounts; once the payment is validated it is the plan's locked
  unit price for good (later table changes never touch a paid plan).
* Nothing is delivered before the payment is validated: a plan awaiting payment is
  never sent to leads. ``payment_validated`` activates the plan (starting that Paris
  day) or applies the extension, exactly once (inbox + business-level checks).
* An extension resets the plan's start to the day it is applied, after the plan's
  past days are closed. If leads cannot close them now, the paid extension waits
  (status ``paid``) and the day-close timer applies it as soon as it can.
* A payment that can no longer be honoured (a plan withdrawn meanwhile) is reported
  as ``plan_refund_due`` so accounts pays it back.
"""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update

from plans.context import Ctx
from plans.domain.absences import PlannedAbsence, apply_planned_absence
from plans.domain.closures import SalesClosure, apply_sales_closure, reopening_date
from plans.domain.countries import parse_country
from plans.domain.plan import Plan, PlanStatus
from plans.domain.pricing import ExtensionQuote, Tier, convert_records, parse_tier, quote, quote_extension
from plans.models import absences, day_reports, extensions, sales_closures
from plans.store import PlanRow, insert_plan, load, publish
from plans.usecases import books
from plans.usecases.common import (
    CLOSURES_LOCK,
    books_up_to_date,
    member,
    owned_plan,
    taken_today,
    user_lock,
)
from plans.views import extension_view, plan_view
from suivi_common import clock
from suivi_common.errors import Conflict, Forbidden, Invalid, SuiviError
from suivi_common.ids import parse_uuid
from suivi_common.kinds import parse_kind

log = logging.getLogger(__name__)

PLAN_ORDER = "plan"
EXTENSION_ORDER = "plan_extension"
WITHDRAWAL_DAYS = 7  # "sept jours francs" (terms art. 6)

EXT_PENDING, EXT_PAID, EXT_APPLIED, EXT_CANCELLED = "pending_payment", "paid", "applied", "cancelled"


# --- quotes and orders -------------------------------------------------------------------------

def _check_country_open(ctx: Ctx, network_id: str | None, country: str) -> None:
    if not network_id:
        raise Forbidden("Only members of a network can buy leads", code="no_network")
    if country not in ctx.accounts.open_countries(network_id):
        raise Invalid("This country is not open in your network",
                      fields={"country": "is not open in your network"}, code="country_not_open")


def _closures_from(ctx: Ctx) -> list[SalesClosure]:
    """The sales closures not over yet."""
    return [SalesClosure(str(c.id), c.start_date, c.end_date, frozenset(c.countries),
                         frozenset(Tier(t) for t in c.tiers), c.reason)
            for c in ctx.session.execute(select(sales_closures).where(
                sales_closures.c.end_date >= clock.today()))]


def _check_sales_open(ctx: Ctx, country: str, tier: Tier) -> None:
    """No plan is sold, nor extended, while staff closed its sales (terms art. 8.B): 409
    with the day they reopen. A closure declared while an order waits for its payment
    still applies to the plan when it is activated (``_apply_known_blocks``)."""
    reopens = reopening_date(_closures_from(ctx), country, tier, clock.today())
    if reopens is not None:
        raise Conflict(f"Sales of {tier.value} leads in {country} are closed; they reopen on "
                       f"{reopens.isoformat()}", code="sales_closed",
                       fields={"reopens_on": reopens.isoformat(), "country": country,
                               "tier": tier.value})


def _check_office(ctx: Ctx, user_id: str, kind: str) -> None:
    """The buyer's office is open, and their subscription covers the plan's kind (issue 13
    §1: a construction subscription buys no distribution leads): 403 ``kind_not_covered``."""
    covered = ctx.accounts.office_kinds(user_id)
    if not covered:
        raise Forbidden("Your office subscription is not active", code="office_inactive")
    if kind not in covered:
        raise Forbidden(f"Your subscription does not cover the {kind} office",
                        code="kind_not_covered",
                        fields={"kind": kind, "covered": ",".join(sorted(covered))})


def quote_plan(ctx: Ctx, records: object, tier: object, country: object,
               kind: object = None) -> dict[str, Any]:
    """Price and daily quota of a plan before buying it, from the table of its kind."""
    principal = member(ctx)
    parsed_country = parse_country(country)
    parsed_kind = parse_kind(kind)
    q = quote(records, parse_tier(tier), ctx.config.table_for(parsed_kind),  # type: ignore[arg-type]
              ctx.config.rules)
    _check_country_open(ctx, principal.network_id, parsed_country)
    return {"unit_price_cents": q.unit_price_cents, "total_cents": q.total_cents,
            "daily_quota": q.daily_quota, "days": q.days, "tier": parse_tier(tier).value,
            "kind": parsed_kind, "country": parsed_country, "records": records}


def buy_plan(ctx: Ctx, records: object, tier: object, country: object,
             payment_method: object, kind: object = None) -> dict[str, Any]:
    """Order a plan of one kind (construction when not said) and ask accounts for its
    payment; the plan waits for that payment."""
    principal = member(ctx)
    parsed_kind = parse_kind(kind)
    plan = Plan.order(plan_id=str(uuid.uuid4()), user_id=principal.user_id, country=country,  # type: ignore[arg-type]
                      tier=tier, records=records,  # type: ignore[arg-type]
                      table=ctx.config.table_for(parsed_kind), rules=ctx.config.rules,
                      kind=parsed_kind)
    _check_country_open(ctx, principal.network_id, plan.country)
    _check_sales_open(ctx, plan.country, plan.tier)
    _check_office(ctx, principal.user_id, plan.kind)
    assert principal.network_id is not None
    total = plan.unit_price_cents * plan.records_ordered
    payment = ctx.accounts.request_payment(
        PLAN_ORDER, plan.id, total, str(payment_method),
        f"Plan: {plan.records_ordered} {plan.tier.value} {plan.kind} leads in {plan.country} "
        "over 30 days")
    row = PlanRow(plan=plan, network_id=principal.network_id, version=0, total_cents=total,
                  payment_method=str(payment.get("method") or payment_method),
                  payment_id=str(payment["id"]), created_at=clock.now())
    insert_plan(ctx.session, row)
    return {**plan_view(row, clock.today(), None), "payment": payment}


# --- payment validated ---------------------------------------------------------------------------

def on_payment_validated(ctx: Ctx, payload: dict[str, Any]) -> None:
    """Accounts validated a payment: activate the plan or apply the extension (once)."""
    order_type = payload.get("order_type")
    if order_type == PLAN_ORDER:
        _activate(ctx, payload)
    elif order_type == EXTENSION_ORDER:
        _extension_paid(ctx, payload)


def _refund_due(ctx: Ctx, row: PlanRow, payload: dict[str, Any], reason: str) -> None:
    log.warning("payment %s for %s %s cannot be honoured (%s): refund due",
                payload.get("payment_id"), payload.get("order_type"), payload.get("order_id"), reason)
    ctx.emit("plan_refund_due", {
        "plan_id": row.plan.id, "user_id": row.plan.user_id, "network_id": row.network_id,
        "payment_id": str(payload.get("payment_id")), "order_type": payload.get("order_type"),
        "order_id": str(payload.get("order_id")), "amount_cents": payload.get("amount_cents"),
        "reason": reason})


def _activate(ctx: Ctx, payload: dict[str, Any]) -> None:
    peek = load(ctx.session, payload.get("order_id"))
    if peek is None:
        # The order may not be committed yet (accounts was fast): raise, the event is retried.
        raise LookupError(f"payment_validated for unknown plan {payload.get('order_id')}")
    user_lock(ctx, peek.plan.user_id)
    ctx.lock(CLOSURES_LOCK, shared=True)
    row = load(ctx.session, peek.id, lock=True)
    assert row is not None
    plan = row.plan
    payment_id = str(payload.get("payment_id"))
    if plan.status != PlanStatus.PENDING_PAYMENT:
        if row.payment_id == payment_id and plan.status != PlanStatus.CANCELLED:
            return  # already activated by this payment
        _refund_due(ctx, row, payload, f"plan is {plan.status.value}")
        return
    if payload.get("amount_cents") != row.total_cents or str(payload.get("user_id")) != plan.user_id:
        raise ValueError(f"payment {payment_id} does not match plan {plan.id}: {payload!r}")
    today = clock.today()
    plan.activate(today)
    _apply_known_blocks(ctx, row)
    row.payment_id = payment_id
    row.activated_at = clock.now()
    publish(ctx, row, "plan_activated", reason="activation")


def _apply_known_blocks(ctx: Ctx, row: PlanRow) -> None:
    """Absences and sales closures accepted before the plan started apply to it too."""
    today = clock.today()
    for a in ctx.session.execute(select(absences).where(
            absences.c.user_id == row.plan.user_id, absences.c.kind == "planned",
            absences.c.end_date >= today)):
        apply_planned_absence(PlannedAbsence(str(a.id), a.user_id, a.start_date, a.end_date,
                                             a.requested_on), [row.plan])
    for closure in _closures_from(ctx):
        apply_sales_closure(closure, [row.plan])


# --- withdrawal --------------------------------------------------------------------------------

def cancel_plan(ctx: Ctx, plan_id: object) -> dict[str, Any]:
    """Withdraw an order: unpaid, or paid within 7 days with nothing delivered yet (art. 6).

    For a paid plan, its past days are closed first and leads is asked about today, so
    "nothing delivered" covers every day up to now; a take racing the withdrawal can
    still slip in before leads hears of it (accepted: at most one take's worth).
    """
    row = owned_plan(ctx, plan_id)
    today = clock.today()
    delivered_today: int | None = None
    if row.plan.status == PlanStatus.ACTIVE:
        _check_withdrawable(ctx, row)
        if not books.catch_up(ctx, row.plan.id):
            raise Conflict("The plan's past days cannot be closed right now; try again shortly",
                           code="leads_unavailable")
        delivered_today = taken_today(ctx, row, today, required=True)
    row = owned_plan(ctx, plan_id, lock=True)
    plan = row.plan
    if plan.status == PlanStatus.ACTIVE:
        if delivered_today is None:
            raise Conflict("The plan changed meanwhile; try again", code="plan_changed")
        _check_withdrawable(ctx, row)
        if delivered_today:
            raise Conflict("Leads were delivered today: the order can no longer be withdrawn",
                           code="plan_already_delivered")
    elif plan.status != PlanStatus.PENDING_PAYMENT:
        raise Conflict(f"A {plan.status.value} plan cannot be withdrawn", code="plan_not_cancellable")
    was_paid = plan.status == PlanStatus.ACTIVE
    plan.cancel()
    row.cancelled_at = clock.now()
    publish(ctx, row, "plan_cancelled", reason="withdrawal")
    if was_paid:
        _refund_paid(ctx, row)
    ctx.session.execute(update(extensions).where(
        extensions.c.plan_id == row.id, extensions.c.status.in_([EXT_PENDING, EXT_PAID]))
        .values(status=EXT_CANCELLED, updated_at=clock.now()))
    return plan_view(row, today, None)


def _check_withdrawable(ctx: Ctx, row: PlanRow) -> None:
    plan = row.plan
    assert plan.activated_on is not None
    if clock.today() > plan.activated_on + timedelta(days=WITHDRAWAL_DAYS):
        raise Conflict("The 7-day withdrawal period is over", code="withdrawal_period_over")
    taken = ctx.session.execute(select(day_reports.c.taken).where(
        day_reports.c.plan_id == row.id, day_reports.c.taken > 0)).first()
    if taken is not None:
        raise Conflict("Leads were delivered: the order can no longer be withdrawn",
                       code="plan_already_delivered")


def _refund_paid(ctx: Ctx, row: PlanRow) -> None:
    """Every payment the withdrawn plan received is due back."""
    paid = [("plan", row.plan.id, row.payment_id, row.total_cents)]
    paid += [(EXTENSION_ORDER, str(e.id), e.payment_id, e.total_cents) for e in ctx.session.execute(
        select(extensions).where(extensions.c.plan_id == row.id,
                                 extensions.c.status.in_([EXT_PAID, EXT_APPLIED]),
                                 extensions.c.payment_id.is_not(None)))]
    for order_type, order_id, payment_id, amount in paid:
        _refund_due(ctx, row, {"payment_id": payment_id, "order_type": order_type,
                               "order_id": order_id, "amount_cents": amount}, "plan withdrawn")


# --- extensions ----------------------------------------------------------------------------------

def _extension_quote(ctx: Ctx, row: PlanRow, records: object) -> ExtensionQuote:
    plan = row.plan
    if plan.status not in (PlanStatus.ACTIVE, PlanStatus.COMPLETED):
        raise Conflict(f"A {plan.status.value} plan cannot be extended", code="plan_not_extendable")
    return quote_extension(records, plan.tier, ctx.config.table_for(plan.kind), plan.credit_cents,  # type: ignore[arg-type]
                           ctx.config.rules)


def quote_plan_extension(ctx: Ctx, plan_id: object, records: object) -> dict[str, Any]:
    row = owned_plan(ctx, plan_id)
    q = _extension_quote(ctx, row, records)
    return {"plan_id": row.plan.id, "tier": q.tier.value, "records": q.records,
            "unit_price_cents": q.unit_price_cents, "gross_cents": q.gross_cents,
            "credit_applied_cents": q.credit_applied_cents, "total_cents": q.total_cents}


def extend_plan(ctx: Ctx, plan_id: object, records: object, payment_method: object) -> dict[str, Any]:
    """Order more records for a plan; paid through accounts, or at once if credit covers it.

    One extension order per plan at a time: asking again while one awaits payment
    replaces its terms (same order id, so accounts replaces the pending payment).
    """
    principal = member(ctx)
    row = owned_plan(ctx, plan_id)
    ctx.lock(f"plans:extend:{row.plan.id}")
    q = _extension_quote(ctx, row, records)
    _check_country_open(ctx, principal.network_id, row.plan.country)
    _check_sales_open(ctx, row.plan.country, q.tier)
    _check_office(ctx, principal.user_id, row.plan.kind)
    open_orders = ctx.session.execute(select(extensions).where(
        extensions.c.plan_id == row.id, extensions.c.status.in_([EXT_PENDING, EXT_PAID]))
        .with_for_update()).all()
    if any(e.status == EXT_PAID for e in open_orders):
        raise Conflict("A paid extension of this plan is still being applied; try again shortly",
                       code="extension_in_progress")
    now = clock.now()
    values = {"tier": q.tier.value, "records": q.records, "unit_price_cents": q.unit_price_cents,
              "gross_cents": q.gross_cents, "credit_applied_cents": q.credit_applied_cents,
              "total_cents": q.total_cents, "updated_at": now}
    if open_orders:
        ext_id = open_orders[0].id
        ctx.session.execute(update(extensions).where(extensions.c.id == ext_id).values(**values))
    else:
        ext_id = uuid.uuid4()
        ctx.session.execute(insert(extensions).values(
            id=ext_id, plan_id=row.id, user_id=principal.user_id, status=EXT_PENDING,
            created_at=now, **values))
    payment = None
    if q.total_cents == 0:
        # the plan's credit pays for it all: nothing to ask of accounts
        ctx.session.execute(update(extensions).where(extensions.c.id == ext_id).values(
            status=EXT_PAID, paid_at=now, payment_method=None, payment_id=None))
        try_apply_extension(ctx, ext_id)
    else:
        payment = ctx.accounts.request_payment(
            EXTENSION_ORDER, str(ext_id), q.total_cents, str(payment_method),
            f"Plan extension: {q.records} more {q.tier.value} leads in {row.plan.country}")
        ctx.session.execute(update(extensions).where(extensions.c.id == ext_id).values(
            payment_method=str(payment.get("method") or payment_method),
            payment_id=str(payment["id"])))
    ext = ctx.session.execute(select(extensions).where(extensions.c.id == ext_id)).one()
    return {**extension_view(ext), "payment": payment}


def _extension_paid(ctx: Ctx, payload: dict[str, Any]) -> None:
    ext_id = parse_uuid(payload.get("order_id"))
    ext = ctx.session.execute(select(extensions).where(extensions.c.id == ext_id)
                              .with_for_update()).first() if ext_id else None
    if ext is None:
        raise LookupError(f"payment_validated for unknown extension {payload.get('order_id')}")
    payment_id = str(payload.get("payment_id"))
    if ext.status in (EXT_PAID, EXT_APPLIED) and ext.payment_id == payment_id:
        return  # seen already
    row = load(ctx.session, ext.plan_id)
    assert row is not None
    if ext.status != EXT_PENDING or ext.payment_id != payment_id:
        _refund_due(ctx, row, payload, f"extension is {ext.status}")
        return
    if payload.get("amount_cents") != ext.total_cents:
        raise ValueError(f"payment {payment_id} does not match extension {ext.id}: {payload!r}")
    ctx.session.execute(update(extensions).where(extensions.c.id == ext.id).values(
        status=EXT_PAID, paid_at=clock.now(), updated_at=clock.now()))
    if row.plan.status == PlanStatus.CANCELLED:
        _refund_due(ctx, row, payload, "plan withdrawn")
        ctx.session.execute(update(extensions).where(extensions.c.id == ext.id).values(
            status=EXT_CANCELLED))
        return
    if not try_apply_extension(ctx, ext.id):
        log.info("extension %s paid; waiting for the plan's books to close", ext.id)


def try_apply_extension(ctx: Ctx, ext_id: uuid.UUID) -> bool:
    """Apply a paid extension once the plan's past days are closed; False if not yet.

    Closes the plan's past days first (own transactions, before any plan lock), asks
    leads what was taken today, then applies under the plan's row lock.
    """
    ext = ctx.session.execute(select(extensions).where(extensions.c.id == ext_id)).one()
    if ext.status != EXT_PAID:
        return ext.status == EXT_APPLIED
    plan_id = str(ext.plan_id)
    if not books.catch_up(ctx, plan_id):
        return False
    today = clock.today()
    peek = load(ctx.session, plan_id)
    assert peek is not None
    taken = taken_today(ctx, peek, today, required=False)
    ext = ctx.session.execute(select(extensions).where(extensions.c.id == ext_id).with_for_update()).one()
    row = load(ctx.session, plan_id, lock=True)
    assert row is not None
    if ext.status != EXT_PAID or not books_up_to_date(row.plan, today):
        return ext.status == EXT_APPLIED
    plan = row.plan
    q, residue = _current_quote(ctx, ext, plan)
    plan.apply_extension(q, today, min(taken, plan.remaining))
    plan.credit_cents += residue
    publish(ctx, row, "plan_changed", reason="extension")
    ctx.session.execute(update(extensions).where(extensions.c.id == ext_id).values(
        status=EXT_APPLIED, applied_at=clock.now(), updated_at=clock.now()))
    return True


def _current_quote(ctx: Ctx, ext: Any, plan: Plan) -> tuple[ExtensionQuote, int]:
    """The paid extension in the plan's current tier.

    If the tier changed after the order, the paid records are converted at value, as a
    tier change converts the plan's own records; cents left over become credit.
    """
    credit = min(ext.credit_applied_cents, plan.credit_cents)
    if Tier(ext.tier) == plan.tier:
        return ExtensionQuote(plan.tier, ext.records, ext.unit_price_cents, ext.gross_cents,
                              credit, ext.gross_cents - credit), 0
    unit = ctx.config.table_for(plan.kind).unit_price_cents(plan.tier, ext.records)
    conversion = convert_records(ext.records, ext.unit_price_cents, unit)
    gross = conversion.records * unit
    return ExtensionQuote(plan.tier, conversion.records, unit, gross, credit, gross - credit), \
        conversion.residue_cents


def apply_waiting_extensions(ctx: Ctx) -> int:
    """Timer: apply paid extensions that waited for their plan's books."""
    waiting = [r.id for r in ctx.session.execute(select(extensions.c.id).where(
        extensions.c.status == EXT_PAID).order_by(extensions.c.paid_at))]
    applied = 0
    for ext_id in waiting:
        try:
            with ctx.separate() as tx:
                applied += try_apply_extension(tx, ext_id)
        except SuiviError as exc:  # a refusal here is a bug to look into, not a reason to stop
            log.error("paid extension %s cannot be applied: %s (%s)", ext_id, exc, exc.code)
    return applied


