"""Payment methods and provider results."""
import pytest

from accounts.domain import payments as rules
from accounts.domain.payments import (
    CardResult,
    Method,
    MethodRefused,
    ProviderOutcome,
    RefundRefused,
    Status,
    Transition,
    amount_problem,
    card_transition,
    order_type_problem,
    parse_method,
    refund_to_record,
)


def test_accepted_methods() -> None:
    assert [parse_method(m) for m in ("card", "transfer", "cheque")] == list(Method)


def test_money_orders_are_refused_with_their_own_code() -> None:
    with pytest.raises(MethodRefused) as err:
        parse_method("mandate")
    assert err.value.code == "payment_method_unsupported"


@pytest.mark.parametrize("value", ["paypal", "", None, 3])
def test_unknown_methods_are_invalid(value: object) -> None:
    with pytest.raises(MethodRefused) as err:
        parse_method(value)
    assert err.value.code == "payment_method_invalid"


@pytest.mark.parametrize(("status", "charged", "outcome", "expected"), [
    (Status.PENDING, False, ProviderOutcome.SUCCEEDED, Transition.VALIDATE),
    (Status.PENDING, False, ProviderOutcome.FAILED, Transition.FAIL),
    (Status.VALIDATED, True, ProviderOutcome.SUCCEEDED, Transition.NONE),
    (Status.FAILED, False, ProviderOutcome.FAILED, Transition.NONE),
    (Status.FAILED, False, ProviderOutcome.SUCCEEDED, Transition.VALIDATE),
    (Status.VALIDATED, True, ProviderOutcome.FAILED, Transition.CONTRADICTION),
    (Status.CANCELLED, False, ProviderOutcome.SUCCEEDED, Transition.REFUND_CANCELLED),
    (Status.CANCELLED, True, ProviderOutcome.SUCCEEDED, Transition.NONE),
    (Status.CANCELLED, False, ProviderOutcome.FAILED, Transition.NONE),
])
def test_card_results(status: Status, charged: bool, outcome: ProviderOutcome,
                      expected: Transition) -> None:
    assert card_transition(CardResult(status, charged), outcome) is expected


def test_amounts_and_order_types() -> None:
    assert amount_problem(100) is None
    assert amount_problem(0) and amount_problem(True) and amount_problem(1.5)
    assert order_type_problem("plan") is None
    assert order_type_problem("subscription")
    assert order_type_problem("Plan!")


def _refund(status: Status = Status.VALIDATED, charged: bool = True, refund_status: str | None = None,
            asked: object = 4500) -> int | None:
    return refund_to_record(status=status, already_charged=charged, refund_status=refund_status,
                            paid_cents=4500, asked_cents=asked)


def test_a_refund_asked_is_recorded_once_and_never_above_what_was_paid() -> None:
    assert _refund() == 4500
    assert _refund(asked=1200) == 1200
    assert _refund(asked=9000) == 4500
    assert _refund(Status.CANCELLED, charged=True) == 4500  # late card success on a cancelled order
    assert _refund(refund_status="due", asked=1200) is None
    assert _refund(refund_status="refunded") is None


@pytest.mark.parametrize(("status", "asked"), [
    (Status.PENDING, 4500), (Status.FAILED, 4500), (Status.CANCELLED, 4500),
    (Status.VALIDATED, 0), (Status.VALIDATED, "4500"), (Status.VALIDATED, True)])
def test_a_refund_needs_money_taken_and_a_valid_amount(status: Status, asked: object) -> None:
    with pytest.raises(RefundRefused):
        _refund(status, charged=status is Status.VALIDATED, asked=asked)


def test_a_due_refund_ends_refunded_once() -> None:
    assert rules.mark_refunded(refund_status="due", recorded_reference=None, reference="VIR-1")
    # the same click again changes nothing; another reference is a contradiction
    assert not rules.mark_refunded(refund_status="refunded", recorded_reference="VIR-1",
                                   reference="VIR-1")
    with pytest.raises(rules.RefundNotMarked) as err:
        rules.mark_refunded(refund_status="refunded", recorded_reference="VIR-1",
                            reference="VIR-2")
    assert err.value.code == "refund_already_made"
    with pytest.raises(rules.RefundNotMarked) as err:
        rules.mark_refunded(refund_status=None, recorded_reference=None, reference="VIR-1")
    assert err.value.code == "refund_not_due"


def test_a_refund_needs_a_reference() -> None:
    assert rules.clean_refund_reference("  CHQ 004512 ") == "CHQ 004512"
    for bad in (None, "", "   ", 12, "x" * 101):
        assert rules.clean_refund_reference(bad) is None
