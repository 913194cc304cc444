"""What a payment's outcome does: a validated payment takes effect on its order, a
failed one cancels it (terms art. 6: nothing starts before the payment is validated;
the card provider alone judges card payments, staff validate transfers and cheques)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Row

from accounts.domain import payments as rules
from accounts.models import payments
from accounts.usecases import payments as payment_uc
from accounts.usecases import subscriptions
from accounts.usecases.context import Ctx
from accounts.usecases.users import actor, iso
from suivi_common import clock
from suivi_common.errors import Conflict, Invalid

P = rules.Status


def _refund_due(ctx: Ctx, payment: Row, now: datetime) -> None:
    payment_uc.mark_refund_due(ctx, payment, payment.amount_cents, now)


def _validate(ctx: Ctx, payment: Row, now: datetime, validated_by: Any = None,
              provider_outcome: str | None = None) -> Row:
    ctx.session.execute(update(payments).where(payments.c.id == payment.id).values(
        status=P.VALIDATED.value, validated_at=now, validated_by=validated_by,
        provider_outcome=provider_outcome or payment.provider_outcome))
    payment = payment_uc.load(ctx, payment.id)
    if payment.order_type == rules.SUBSCRIPTION_ORDER and not subscriptions.activate_paid(ctx, payment, now):
        _refund_due(ctx, payment, now)
    ctx.emit("payment_validated", {
        "payment_id": str(payment.id), "user_id": str(payment.user_id),
        "network_id": str(payment.network_id) if payment.network_id else None,
        "order_type": payment.order_type, "order_id": payment.order_id,
        "amount_cents": payment.amount_cents, "method": payment.method,
        "validated_at": iso(now)})
    return payment_uc.load(ctx, payment.id)


def _fail(ctx: Ctx, payment: Row, now: datetime) -> None:
    ctx.session.execute(update(payments).where(payments.c.id == payment.id).values(
        status=P.FAILED.value, failed_at=now, provider_outcome=rules.ProviderOutcome.FAILED.value))
    if payment.order_type == rules.SUBSCRIPTION_ORDER:
        subscriptions.cancel_for_failed_payment(ctx, payment)
    ctx.emit("payment_failed", {"payment_id": str(payment.id), "user_id": str(payment.user_id),
                                "order_type": payment.order_type, "order_id": payment.order_id})


def record_card_result(ctx: Ctx, payment_id: object, provider_ref: object, status: object,
                       amount_cents: object) -> dict[str, Any]:
    """Apply the provider's (signature-checked) result. Idempotent: the same result
    again answers ``changed: False``."""
    try:
        outcome = rules.ProviderOutcome(status if isinstance(status, str) else "")
    except ValueError:
        raise Invalid("Unknown payment result", fields={"status": "succeeded or failed"}) from None
    payment = payment_uc.load(ctx, payment_id, for_update=True)
    if payment.method != rules.Method.CARD.value:
        raise Invalid("This payment is not a card payment", fields={"payment_id": "not a card payment"})
    if not isinstance(provider_ref, str) or provider_ref != payment.provider_ref:
        raise Invalid("The provider reference does not match", fields={"provider_ref": "mismatch"})
    if amount_cents != payment.amount_cents or isinstance(amount_cents, bool):
        raise Invalid("The amount does not match", fields={"amount_cents": "mismatch"})
    now = clock.now()
    current = rules.CardResult(
        P(payment.status), payment.provider_outcome == rules.ProviderOutcome.SUCCEEDED.value)
    transition = rules.card_transition(current, outcome)
    if transition is rules.Transition.CONTRADICTION:
        raise Conflict("This payment already succeeded", code="payment_already_validated")
    if transition is rules.Transition.VALIDATE:
        payment = _validate(ctx, payment, now, provider_outcome=outcome.value)
    elif transition is rules.Transition.FAIL:
        _fail(ctx, payment, now)
    elif transition is rules.Transition.REFUND_CANCELLED:
        ctx.session.execute(update(payments).where(payments.c.id == payment.id)
                            .values(provider_outcome=outcome.value))
        _refund_due(ctx, payment, now)
    payment = payment_uc.load(ctx, payment.id)
    return {"payment_id": str(payment.id), "status": payment.status,
            "changed": transition is not rules.Transition.NONE}


def validate_payment(ctx: Ctx, payment_id: object) -> dict[str, Any]:
    """Staff record a transfer or cheque as received."""
    staff = actor(ctx, "staff")
    payment = payment_uc.load(ctx, payment_id, for_update=True)
    if payment.method == rules.Method.CARD.value:
        raise Conflict("Card payments are validated by the card provider only",
                       code="card_payment_provider_only")
    if payment.status == P.VALIDATED.value:
        raise Conflict("This payment is already validated", code="payment_already_validated")
    if payment.status != P.PENDING.value:
        raise Conflict(f"This payment is {payment.status}", code="payment_not_pending")
    return payment_uc.payment_dict(_validate(ctx, payment, clock.now(), validated_by=staff.id))
