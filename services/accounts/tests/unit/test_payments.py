"""Payment methods and provider results."""
import pytest

from accounts.domain.payments import (
    CardResult,
    Method,
    MethodRefused,
    ProviderOutcome,
    Status,
    Transition,
    amount_problem,
    card_transition,
    order_type_problem,
    parse_method,
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
