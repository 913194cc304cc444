"""Payments (terms art. 6): accepted methods, statuses, and how a provider result
changes a payment.

* Card (through the card provider, who alone judges a card payment valid), bank
  transfer and cheque are accepted; payment by money order ("mandat") is refused.
* A transfer or cheque is validated by staff on receipt; a card payment only by the
  provider's signed result.
* Provider results are idempotent: the same result twice changes nothing. A success
  after a failure validates (the cardholder retried and was charged); a failure after
  a success is a contradiction and is refused. A success on a payment cancelled
  meanwhile (order withdrawn, account closed) keeps the order cancelled and records
  a refund as due: money taken for nothing is given back.
* A refund asked by the service that sold the order (a plan withdrawn within the
  legal window, a plan paid after it was cancelled) is recorded as due on a payment
  that took money, for at most what was paid. A payment records one refund: once it
  is due or made, asking again changes nothing (events may arrive twice).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Method(StrEnum):
    CARD = "card"
    TRANSFER = "transfer"
    CHEQUE = "cheque"


class Status(StrEnum):
    PENDING = "pending"
    VALIDATED = "validated"
    FAILED = "failed"
    CANCELLED = "cancelled"


class RefundStatus(StrEnum):
    DUE = "due"
    REFUNDED = "refunded"


REFUSED_METHODS = {"mandate": "Payment by money order (mandat) is not accepted."}
CURRENCY = "EUR"
MAX_AMOUNT_CENTS = 10_000_000
SUBSCRIPTION_ORDER = "subscription"
_ORDER_TYPE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class MethodRefused(ValueError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def parse_method(value: object) -> Method:
    if isinstance(value, str) and value in REFUSED_METHODS:
        raise MethodRefused(REFUSED_METHODS[value], "payment_method_unsupported")
    try:
        return Method(value if isinstance(value, str) else "")
    except ValueError:
        raise MethodRefused(
            f"payment_method must be one of {', '.join(m.value for m in Method)}",
            "payment_method_invalid") from None


def amount_problem(amount: object) -> str | None:
    if not isinstance(amount, int) or isinstance(amount, bool):
        return "The amount must be a whole number of cents."
    if not 0 < amount <= MAX_AMOUNT_CENTS:
        return f"The amount must be between 1 and {MAX_AMOUNT_CENTS} cents."
    return None


def order_type_problem(order_type: object) -> str | None:
    if not isinstance(order_type, str) or not _ORDER_TYPE.match(order_type):
        return "The order type must be a short lower-case identifier."
    if order_type == SUBSCRIPTION_ORDER:
        return "Subscriptions are ordered with create_subscription."
    return None


class ProviderOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Transition(StrEnum):
    VALIDATE = "validate"                 # pending/failed -> validated (order takes effect)
    FAIL = "fail"                         # pending -> failed
    REFUND_CANCELLED = "refund_cancelled"  # cancelled, money taken -> refund due
    NONE = "none"                         # same result again
    CONTRADICTION = "contradiction"       # failure reported after success


@dataclass(frozen=True)
class CardResult:
    status: Status
    already_charged: bool  # a success was already recorded on this payment


def card_transition(current: CardResult, outcome: ProviderOutcome) -> Transition:
    if outcome is ProviderOutcome.SUCCEEDED:
        if current.status is Status.VALIDATED or current.already_charged:
            return Transition.NONE
        if current.status is Status.CANCELLED:
            return Transition.REFUND_CANCELLED
        return Transition.VALIDATE
    if current.status is Status.VALIDATED or current.already_charged:
        return Transition.CONTRADICTION
    if current.status in (Status.FAILED, Status.CANCELLED):
        return Transition.NONE
    return Transition.FAIL


class RefundRefused(ValueError):
    """A refund asked that cannot be recorded: the request contradicts the payment."""


def refund_to_record(*, status: Status, already_charged: bool, refund_status: str | None,
                     paid_cents: int, asked_cents: object) -> int | None:
    """The amount to record as due for a refund asked on a payment, or None when a
    refund is already recorded on it (due or made). Never more than was paid."""
    if refund_status is not None:
        return None
    if status is not Status.VALIDATED and not already_charged:
        raise RefundRefused(f"nothing was taken on this {status.value} payment")
    problem = amount_problem(asked_cents)
    if problem:
        raise RefundRefused(problem)
    assert isinstance(asked_cents, int)
    return min(asked_cents, paid_cents)


REFUND_REFERENCE_MAX = 100


class RefundNotMarked(ValueError):
    """Staff asked to mark a refund made that cannot be: ``code`` says why."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def clean_refund_reference(value: object) -> str | None:
    """The reference of the transfer or cheque that paid the money back (the proof staff
    will be asked for), or None when missing or too long."""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > REFUND_REFERENCE_MAX:
        return None
    return value.strip()


def mark_refunded(*, refund_status: str | None, recorded_reference: str | None,
                  reference: str) -> bool:
    """Whether marking a refund made records something: a due refund ends ``refunded``
    once. The same reference again is a no-op (a retried click); another reference on a
    refund already made, or a payment with no refund due, is refused."""
    if refund_status == RefundStatus.REFUNDED.value:
        if recorded_reference == reference:
            return False
        raise RefundNotMarked("This refund was already made under another reference",
                              "refund_already_made")
    if refund_status != RefundStatus.DUE.value:
        raise RefundNotMarked("No refund is due on this payment", "refund_not_due")
    return True
