"""Office subscriptions (terms art. 3.A, 6, 10): ordering, activation once paid,
withdrawal, the end of a subscription in all its forms."""
from __future__ import annotations

import uuid
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Row

from accounts.domain import payments as payment_rules
from accounts.domain import subscriptions as rules
from accounts.domain import withdrawal
from accounts.domain.accounts import MEMBER_ROLES
from accounts.models import payments, subscriptions
from accounts.usecases import payments as payment_uc
from accounts.usecases.context import Ctx
from accounts.usecases.users import actor, iso
from suivi_common import clock
from suivi_common.auth import require_owner
from suivi_common.errors import Conflict, Invalid
from suivi_common.ids import parse_uuid
from suivi_common.kinds import DEFAULT_KIND, parse_coverage

S = rules.Status
LABELS_FR = {rules.Period.MONTHLY: "mensuel", rules.Period.QUARTERLY: "trimestriel",
             rules.Period.ANNUAL: "annuel"}


def subscription_dict(row: Row | SimpleNamespace,
                      payment: Row | SimpleNamespace | None) -> dict[str, Any]:
    return {"id": str(row.id), "status": row.status, "period": row.period,
            "kind": getattr(row, "kind", None) or DEFAULT_KIND, "amount_cents": row.amount_cents,
            "starts_on": iso(row.starts_on),
            "ends_on": iso(row.ends_on), "created_at": iso(row.created_at),
            "activated_at": iso(row.activated_at), "ended_at": iso(row.ended_at),
            "end_reason": row.end_reason,
            "payment": payment_uc.payment_dict(payment) if payment is not None else None}


def _with_payment(ctx: Ctx, row: Row) -> dict[str, Any]:
    payment = ctx.session.execute(select(payments).where(payments.c.id == row.payment_id)).first()
    return subscription_dict(row, payment)


def _event(row: Row) -> dict[str, Any]:
    return {"subscription_id": str(row.id), "user_id": str(row.user_id),
            "network_id": str(row.network_id)}


def create_subscription(ctx: Ctx, period: object, payment_method: object,
                        kind: object = None) -> dict[str, Any]:
    """Order a period for an office kind, or both (``kind``; construction when not said, at
    that kind's price in force); it stays ``pending_payment`` until the payment is validated.

    One order awaiting payment at a time (cancel it to order differently). Ordering
    while a subscription runs is a renewal: once paid it starts the day after.
    """
    user = actor(ctx, *MEMBER_ROLES)
    try:
        chosen = rules.parse_period(period)
    except rules.UnknownPeriod as err:
        raise Invalid(str(err), fields={"period": str(err)}) from None
    method = payment_uc.parse_method(payment_method)
    covered = parse_coverage(kind)
    amount = rules.price_cents(chosen, ctx.settings.prices_for(covered))
    now = clock.now()
    ctx.lock(f"subscribe:{user.id}")
    pending = ctx.session.execute(select(subscriptions.c.id).where(
        subscriptions.c.user_id == user.id, subscriptions.c.status == S.PENDING_PAYMENT.value)).first()
    if pending is not None:
        raise Conflict("A subscription order is already awaiting payment; pay or cancel it first",
                       code="subscription_payment_pending")
    sub_id, payment_id = uuid.uuid4(), uuid.uuid4()
    payment = payment_uc.create(
        ctx, user=user, order_type=payment_rules.SUBSCRIPTION_ORDER, order_id=str(sub_id),
        amount_cents=amount, method=method, payment_id=payment_id, now=now,
        description=f"Abonnement Bureau en ligne Suivi ({LABELS_FR[chosen]})")
    ctx.session.execute(subscriptions.insert().values(
        id=sub_id, user_id=user.id, network_id=user.network_id, period=chosen.value,
        kind=covered, status=S.PENDING_PAYMENT.value, amount_cents=amount, payment_id=payment_id,
        created_at=now))
    row = ctx.session.execute(select(subscriptions).where(subscriptions.c.id == sub_id)).one()
    return subscription_dict(row, payment)


def activate_paid(ctx: Ctx, payment: Row, now: datetime) -> bool:
    """Start the subscription a validated payment paid for; False if it was no longer
    wanted (cancelled meanwhile), in which case the money is to be refunded."""
    row = ctx.session.execute(select(subscriptions).where(subscriptions.c.payment_id == payment.id)
                              .with_for_update()).first()
    if row is None or row.status != S.PENDING_PAYMENT.value:
        return False
    running = ctx.session.execute(select(subscriptions.c.ends_on).where(
        subscriptions.c.user_id == row.user_id, subscriptions.c.status == S.ACTIVE.value)
        .order_by(subscriptions.c.ends_on).with_for_update()).scalars()
    span = rules.next_span(rules.Period(row.period), clock.today(), list(running))
    ctx.session.execute(update(subscriptions).where(subscriptions.c.id == row.id).values(
        status=S.ACTIVE.value, starts_on=span.starts_on, ends_on=span.ends_on, activated_at=now))
    ctx.emit("subscription_activated", dict(_event(row), period=row.period, kind=row.kind,
                                            starts_on=iso(span.starts_on), ends_on=iso(span.ends_on)))
    return True


def cancel_for_failed_payment(ctx: Ctx, payment: Row) -> None:
    ctx.session.execute(update(subscriptions).where(
        subscriptions.c.payment_id == payment.id,
        subscriptions.c.status == S.PENDING_PAYMENT.value).values(status=S.CANCELLED.value))


def list_subscriptions(ctx: Ctx) -> dict[str, Any]:
    """All of the caller's subscriptions, newest first (a handful per year: one page)."""
    user = actor(ctx, *MEMBER_ROLES)
    rows = list(ctx.session.execute(select(subscriptions).where(subscriptions.c.user_id == user.id)
                                    .order_by(subscriptions.c.created_at.desc())))
    paid = {p.id: p for p in ctx.session.execute(
        select(payments).where(payments.c.id.in_([r.payment_id for r in rows])))} if rows else {}
    return {"items": [subscription_dict(r, paid.get(r.payment_id)) for r in rows],
            "next_cursor": None}


def current_for(ctx: Ctx, user_id: uuid.UUID) -> dict[str, Any] | None:
    """The subscription to show (see ``domain.subscriptions.shown``)."""
    s = subscriptions.c
    rows = ctx.session.execute(select(subscriptions).where(
        s.user_id == user_id, s.status.in_(rules.OPEN_STATUSES)))
    chosen = rules.shown(rows, clock.today())
    return _with_payment(ctx, chosen) if chosen is not None else None


def _service_started(ctx: Ctx, user_id: uuid.UUID, since: datetime) -> bool:
    p = payments.c
    count = ctx.session.execute(select(func.count()).select_from(payments).where(
        p.user_id == user_id, p.status == payment_rules.Status.VALIDATED.value,
        p.order_type != payment_rules.SUBSCRIPTION_ORDER, p.validated_at >= since)).scalar_one()
    return count > 0


def withdraw_subscription(ctx: Ctx, subscription_id: object) -> dict[str, Any]:
    """Cancel an unpaid order, or withdraw from a paid one (art. 6, see domain.withdrawal)."""
    user = actor(ctx, *MEMBER_ROLES)
    sid = parse_uuid(subscription_id)
    query = select(subscriptions).where(subscriptions.c.id == sid).with_for_update()
    row = require_owner(ctx.principal, ctx.session.execute(query).first() if sid else None,
                        "No such subscription")
    payment = payment_uc.load(ctx, row.payment_id, for_update=True)
    now = clock.now()
    if row.status == S.PENDING_PAYMENT.value:
        ctx.session.execute(update(subscriptions).where(subscriptions.c.id == row.id)
                            .values(status=S.CANCELLED.value, ended_at=now))
        if payment.status == payment_rules.Status.PENDING.value:
            payment_uc.cancel(ctx, payment, now)
        return _with_payment(ctx, _reload(ctx, row.id))
    if row.status != S.ACTIVE.value:
        raise Conflict("This subscription can no longer be withdrawn",
                       code="subscription_not_withdrawable")
    assert payment.validated_at is not None
    refusal = withdrawal.refusal(payment.validated_at.astimezone(clock.PARIS).date(), clock.today(),
                                 _service_started(ctx, user.id, payment.validated_at))
    if refusal is withdrawal.Refusal.WINDOW_CLOSED:
        raise Conflict("The 7-day withdrawal period is over", code=refusal.value)
    if refusal is withdrawal.Refusal.SERVICE_STARTED:
        raise Conflict("The service has started (a paid order was delivered since): "
                       "withdrawal is no longer possible", code=refusal.value)
    _end(ctx, row, S.WITHDRAWN, rules.EndReason.WITHDRAWN, now)
    payment_uc.mark_refund_due(ctx, payment, payment.amount_cents, now)
    return _with_payment(ctx, _reload(ctx, row.id))


def _reload(ctx: Ctx, sub_id: uuid.UUID) -> Row:
    return ctx.session.execute(select(subscriptions).where(subscriptions.c.id == sub_id)).one()


def _office_still_open(ctx: Ctx, row: Row) -> bool:
    """Whether another paid subscription keeps the user's office open today."""
    today = clock.today()
    s = subscriptions.c
    return ctx.session.execute(select(s.id).where(
        s.user_id == row.user_id, s.status == S.ACTIVE.value, s.id != row.id,
        s.starts_on <= today, s.ends_on >= today)).first() is not None


def _end(ctx: Ctx, row: Row, status: rules.Status, reason: rules.EndReason, now: datetime,
         office_active: bool | None = None) -> None:
    """End a paid subscription; ``subscription_ended`` also says whether the office stays
    open (a renewal already running), so consumers need not ask."""
    ctx.session.execute(update(subscriptions).where(subscriptions.c.id == row.id).values(
        status=status.value, end_reason=reason.value, ended_at=now))
    if office_active is None:
        office_active = _office_still_open(ctx, row)
    ctx.emit("subscription_ended", dict(_event(row), reason=reason.value, office_active=office_active))


def end_all_of_user(ctx: Ctx, user_id: uuid.UUID, reason: rules.EndReason, now: datetime) -> None:
    """The account ends (terminated by the user, closed by staff): running and future
    subscriptions end without refund (art. 10.B), unpaid orders are cancelled."""
    rows = ctx.session.execute(select(subscriptions).where(
        subscriptions.c.user_id == user_id,
        subscriptions.c.status.in_([S.ACTIVE.value, S.PENDING_PAYMENT.value])).with_for_update())
    for row in rows:
        if row.status == S.ACTIVE.value:
            _end(ctx, row, S.ENDED, reason, now, office_active=False)
        else:
            ctx.session.execute(update(subscriptions).where(subscriptions.c.id == row.id)
                                .values(status=S.CANCELLED.value, ended_at=now))
    payment_uc.cancel_pending_of_user(ctx, user_id, now)


def expire_due(ctx: Ctx) -> int:
    """End every paid subscription whose last day is past (timer; idempotent, and safe
    with several instances: rows taken by another are skipped)."""
    today = clock.today()
    now = clock.now()
    s = subscriptions.c
    rows = list(ctx.session.execute(select(subscriptions).where(
        s.status == S.ACTIVE.value, s.ends_on < today).order_by(s.ends_on).with_for_update(skip_locked=True)))
    for row in rows:
        _end(ctx, row, S.EXPIRED, rules.EndReason.EXPIRED, now)
    return len(rows)
