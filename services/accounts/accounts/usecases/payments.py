"""Payments (terms art. 6): creating them (card through the provider, transfer, cheque)
and reading them. What a validated or failed payment does is in ``settlement``."""
from __future__ import annotations

import uuid
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Row

from accounts.adapters.card_provider import CardPaymentRequest, CardProviderError
from accounts.domain import payments as rules
from accounts.domain.accounts import MEMBER_ROLES
from accounts.models import payments
from accounts.usecases.context import Ctx
from accounts.usecases.users import actor, iso
from suivi_common import clock, paging
from suivi_common.auth import require_owner
from suivi_common.database import row_by_id
from suivi_common.errors import Conflict, Invalid

DESCRIPTION_MAX = 200


def payment_dict(row: Row | SimpleNamespace) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(row.id), "method": row.method, "status": row.status,
        "amount_cents": row.amount_cents, "currency": row.currency,
        "order_type": row.order_type, "order_id": row.order_id, "description": row.description,
        "user_id": str(row.user_id), "created_at": iso(row.created_at),
        "validated_at": iso(row.validated_at), "refund_status": row.refund_status,
        "refund_amount_cents": row.refund_amount_cents}
    if getattr(row, "refunded_at", None) is not None:  # (a partial row from get_me has none)
        data["refunded_at"] = iso(row.refunded_at)
        data["refund_reference"] = row.refund_reference
    if row.method == rules.Method.CARD.value:
        data["redirect_url"] = row.redirect_url if row.status == rules.Status.PENDING.value else None
    return data


def parse_method(value: object) -> rules.Method:
    try:
        return rules.parse_method(value)
    except rules.MethodRefused as err:
        raise Invalid(str(err), fields={"payment_method": str(err)}, code=err.code) from None


def load(ctx: Ctx, payment_id: object, for_update: bool = False) -> Row:
    return row_by_id(ctx.session, payments, payment_id, "payment", for_update)


def create(ctx: Ctx, *, user: Row, order_type: str, order_id: str, amount_cents: int,
           method: rules.Method, description: str, now: datetime,
           payment_id: uuid.UUID | None = None) -> Row:
    """A pending payment; for a card, registered with the provider for its redirect URL.

    If the provider cannot be reached the whole order is refused (and rolled back):
    an order the user cannot pay would only be a dead end to clean up later.
    """
    pid = payment_id or uuid.uuid4()
    ctx.session.execute(payments.insert().values(
        id=pid, user_id=user.id, network_id=user.network_id, order_type=order_type,
        order_id=order_id, amount_cents=amount_cents, currency=rules.CURRENCY,
        method=method.value, status=rules.Status.PENDING.value,
        description=description[:DESCRIPTION_MAX], created_at=now))
    if method is rules.Method.CARD:
        try:
            created = ctx.card_provider().create_payment(CardPaymentRequest(
                payment_id=str(pid), amount_cents=amount_cents, currency=rules.CURRENCY,
                description=description[:DESCRIPTION_MAX],
                callback_url=ctx.settings.card_callback_url,
                return_url=ctx.settings.card_return_url))
        except CardProviderError:
            raise Conflict("Card payments are unavailable right now; try again later or pay "
                           "by transfer or cheque", code="payment_provider_unavailable") from None
        ctx.session.execute(update(payments).where(payments.c.id == pid).values(
            provider_ref=created.provider_ref, redirect_url=created.redirect_url))
    return load(ctx, pid)


def request_payment(ctx: Ctx, order_type: object, order_id: object, amount_cents: object,
                    method: object, description: object) -> dict[str, Any]:
    """A payment for another service's order (a plan), paid by the caller.

    Idempotent for the same order: asking again with the same amount and method
    returns the pending payment; with other terms it replaces it; once paid,
    ``order_already_paid``.
    """
    buyer = actor(ctx, *MEMBER_ROLES)
    fields = {k: v for k, v in (
        ("order_type", rules.order_type_problem(order_type)),
        ("order_id", None if isinstance(order_id, str) and 0 < len(order_id) <= 100
         else "An order id of at most 100 characters is required."),
        ("amount_cents", rules.amount_problem(amount_cents)),
        ("description", None if isinstance(description, str) and description.strip()
         else "A description is required.")) if v}
    if fields:
        raise Invalid("The payment request is not valid", fields=fields)
    pay_method = parse_method(method)
    assert isinstance(order_type, str) and isinstance(order_id, str)
    assert isinstance(amount_cents, int) and isinstance(description, str)
    now = clock.now()
    ctx.lock(f"order:{order_type}:{order_id}")
    existing = ctx.session.execute(select(payments).where(
        payments.c.order_type == order_type, payments.c.order_id == order_id,
        payments.c.status.in_([rules.Status.PENDING.value, rules.Status.VALIDATED.value]))
        .with_for_update()).first()
    if existing is not None:
        if existing.user_id != buyer.id:
            raise Conflict("This order belongs to someone else", code="order_not_yours")
        if existing.status == rules.Status.VALIDATED.value:
            raise Conflict("This order is already paid", code="order_already_paid")
        if existing.amount_cents == amount_cents and existing.method == pay_method.value:
            return payment_dict(existing)
        cancel(ctx, existing, now)
    row = create(ctx, user=buyer, order_type=order_type, order_id=order_id,
                 amount_cents=amount_cents, method=pay_method, description=description.strip(),
                 now=now)
    return payment_dict(row)


def cancel(ctx: Ctx, row: Row, now: datetime) -> None:
    """Give up a pending payment (its order was cancelled or replaced)."""
    ctx.session.execute(update(payments).where(payments.c.id == row.id).values(
        status=rules.Status.CANCELLED.value, cancelled_at=now))
    ctx.emit("payment_cancelled", {"payment_id": str(row.id), "user_id": str(row.user_id),
                                   "order_type": row.order_type, "order_id": row.order_id})


def mark_refund_due(ctx: Ctx, row: Row, amount_cents: int, now: datetime) -> None:
    """Record that ``amount_cents`` of this payment is to be given back (staff see it in
    ``list_payments(refund_status="due")``)."""
    ctx.session.execute(update(payments).where(payments.c.id == row.id).values(
        refund_status=rules.RefundStatus.DUE.value, refund_amount_cents=amount_cents,
        refund_due_at=now))


def cancel_pending_of_user(ctx: Ctx, user_id: uuid.UUID, now: datetime) -> None:
    for row in ctx.session.execute(select(payments).where(
            payments.c.user_id == user_id, payments.c.status == rules.Status.PENDING.value)
            .with_for_update()):
        cancel(ctx, row, now)


def get_payment(ctx: Ctx, payment_id: object) -> dict[str, Any]:
    actor(ctx)
    return payment_dict(require_owner(ctx.principal, load(ctx, payment_id), "No such payment",
                                      sees_all=("staff",)))


def list_payments(ctx: Ctx, status: object = None, cursor: object = None, limit: object = None,
                  refund_status: object = None) -> dict[str, Any]:
    actor(ctx, "staff")
    size = paging.check_limit(limit)
    query = paging.keyset(select(payments), payments, cursor, size)  # cursor refused before filters
    if status == rules.RefundStatus.REFUNDED.value:  # staff's "refunded" tab: money given back
        status, refund_status = None, refund_status or status
    if status is not None:
        if status not in {s.value for s in rules.Status}:
            raise Invalid("Unknown payment status", fields={"status": "unknown"})
        query = query.where(payments.c.status == status)
    if refund_status is not None:
        if refund_status not in {s.value for s in rules.RefundStatus}:
            raise Invalid("Unknown refund status", fields={"refund_status": "unknown"})
        query = query.where(payments.c.refund_status == refund_status)
    rows = ctx.session.execute(query).all()
    return paging.page(rows, size, [payment_dict(r) for r in rows[:size]])


def mark_refunded(ctx: Ctx, payment_id: object, reference: object) -> dict[str, Any]:
    """Staff record that a due refund was paid back, with the transfer's or cheque's
    reference: the refund ends ``refunded`` (and the account's retention hold with it).
    Emits ``refund_made`` once."""
    staff = actor(ctx, "staff")
    clean = rules.clean_refund_reference(reference)
    if clean is None:
        raise Invalid("The refund needs a reference (the transfer or cheque), at most "
                      f"{rules.REFUND_REFERENCE_MAX} characters",
                      fields={"reference": "required, at most 100 characters"})
    row = load(ctx, payment_id, for_update=True)
    try:
        record = rules.mark_refunded(refund_status=row.refund_status,
                                     recorded_reference=row.refund_reference, reference=clean)
    except rules.RefundNotMarked as err:
        raise Conflict(str(err), code=err.code) from None
    if record:
        now = clock.now()
        ctx.session.execute(update(payments).where(payments.c.id == row.id).values(
            refund_status=rules.RefundStatus.REFUNDED.value, refunded_at=now,
            refund_reference=clean, refunded_by=staff.id))
        ctx.emit("refund_made", {"payment_id": str(row.id), "user_id": str(row.user_id),
                                 "amount_cents": row.refund_amount_cents,
                                 "reference": clean, "refunded_at": iso(now)})
        row = load(ctx, row.id)
    return payment_dict(row)
