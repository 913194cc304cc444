"""What plans tells accounts about the orders it sold (terms art. 6).

* ``plan_refund_due``: a paid plan or plan extension was withdrawn within the legal
  window, or its payment was validated after the order was cancelled. The payment's
  refund is recorded as due, for at most what was paid (``domain.payments``). A refund
  already due or made stays as it is, so the same fact told twice refunds once. An
  unknown payment raises: the event is retried, then kept as a dead letter for staff.
* ``plan_cancelled``: a plan withdrawn while its payment is still pending cancels that
  payment (``payment_cancelled``, as for any order given up). A card success arriving
  later is then a refund due (the "late success on a cancelled payment" rule), and staff
  can no longer validate a transfer or cheque for it. A payment already validated is
  left alone: plans asks for its refund with ``plan_refund_due``. No pending payment:
  nothing to do.

Both handlers are idempotent on the business level: running one again changes nothing.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from accounts.domain import payments as rules
from accounts.models import payments
from accounts.usecases import payments as payment_uc
from accounts.usecases.context import Ctx
from suivi_common import clock
from suivi_common.ids import parse_uuid

log = logging.getLogger(__name__)

PLAN_ORDER = "plan"


def on_plan_refund_due(ctx: Ctx, payload: dict[str, Any]) -> None:
    pid = parse_uuid(payload.get("payment_id"))
    payment = ctx.session.execute(select(payments).where(payments.c.id == pid)
                                  .with_for_update()).first() if pid else None
    if payment is None:
        raise LookupError(f"plan_refund_due for unknown payment {payload.get('payment_id')!r}")
    told = (str(payload.get("user_id")), payload.get("order_type"), str(payload.get("order_id")))
    if told != (str(payment.user_id), payment.order_type, payment.order_id):
        raise ValueError(f"plan_refund_due does not match payment {payment.id}: {payload!r}")
    try:
        amount = rules.refund_to_record(
            status=rules.Status(payment.status),
            already_charged=payment.provider_outcome == rules.ProviderOutcome.SUCCEEDED.value,
            refund_status=payment.refund_status, paid_cents=payment.amount_cents,
            asked_cents=payload.get("amount_cents"))
    except rules.RefundRefused as err:
        raise ValueError(f"plan_refund_due refused for payment {payment.id}: {err}") from None
    if amount is None:
        log.info("refund of payment %s already %s; plan_refund_due (%s) changes nothing",
                 payment.id, payment.refund_status, payload.get("reason"))
        return
    if amount != payload.get("amount_cents"):
        log.warning("plan_refund_due asks %s cents back on payment %s of %s cents; recording %s",
                    payload.get("amount_cents"), payment.id, payment.amount_cents, amount)
    payment_uc.mark_refund_due(ctx, payment, amount, clock.now())


def on_plan_cancelled(ctx: Ctx, payload: dict[str, Any]) -> None:
    plan_id = payload.get("plan_id")
    if not isinstance(plan_id, str) or not plan_id:
        raise ValueError(f"plan_cancelled without a plan id: {payload!r}")
    ctx.lock(f"order:{PLAN_ORDER}:{plan_id}")  # as request_payment: no replacement racing us
    now = clock.now()
    for row in ctx.session.execute(select(payments).where(
            payments.c.order_type == PLAN_ORDER, payments.c.order_id == plan_id,
            payments.c.status == rules.Status.PENDING.value).with_for_update()).all():
        payment_uc.cancel(ctx, row, now)
