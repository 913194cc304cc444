"""Refund claim eligibility (terms 3.B.ii) and reasons."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leads.domain.history import ChangeSource
from leads.domain.refunds import (
    ClaimFacts,
    LeadOrigin,
    RefundReason,
    check_claim_allowed,
    edited_by_user,
    parse_refund_reason,
    refund_deadline,
)
from suivi_common.errors import Conflict, Invalid

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
DELIVERED = NOW - timedelta(days=2)


def facts(**changes: Any) -> ClaimFacts:
    base = {"origin": LeadOrigin.PURCHASED, "delivered_at": DELIVERED}
    return ClaimFacts(**{**base, **changes})


def refusal(claim_facts: ClaimFacts, now: datetime = NOW, **kwargs: Any) -> str:
    with pytest.raises(Conflict) as caught:
        check_claim_allowed(claim_facts, now, **kwargs)
    return caught.value.code


def test_a_fresh_unedited_purchased_lead_can_be_claimed() -> None:
    assert check_claim_allowed(facts(), NOW) is None


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"erased": True}, "refund_claim_lead_erased"),
        ({"origin": LeadOrigin.PERSONAL, "delivered_at": None}, "refund_claim_personal_lead"),
        ({"edited_by_user": True}, "refund_claim_lead_edited"),
        ({"already_claimed": True}, "refund_claim_already_claimed"),
        ({"delivered_at": NOW - timedelta(days=8)}, "refund_claim_window_closed"),
    ],
)
def test_each_refusal(changes: dict[str, Any], code: str) -> None:
    assert refusal(facts(**changes)) == code


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        # Every rule broken at once: the first one in the documented order wins.
        (
            {
                "erased": True,
                "origin": LeadOrigin.PERSONAL,
                "edited_by_user": True,
                "already_claimed": True,
                "delivered_at": NOW - timedelta(days=30),
            },
            "refund_claim_lead_erased",
        ),
        (
            {
                "origin": LeadOrigin.PERSONAL,
                "edited_by_user": True,
                "already_claimed": True,
                "delivered_at": NOW - timedelta(days=30),
            },
            "refund_claim_personal_lead",
        ),
        (
            {"edited_by_user": True, "already_claimed": True, "delivered_at": NOW - timedelta(days=30)},
            "refund_claim_lead_edited",
        ),
        (
            {"already_claimed": True, "delivered_at": NOW - timedelta(days=30)},
            "refund_claim_already_claimed",
        ),
    ],
)
def test_refusal_order(changes: dict[str, Any], code: str) -> None:
    assert refusal(facts(**changes)) == code


@pytest.mark.parametrize(
    ("age", "allowed"),
    [
        (timedelta(0), True),
        (timedelta(days=6, hours=23), True),
        (timedelta(days=7), True),  # the deadline instant itself is still open
        (timedelta(days=7, seconds=1), False),
        (timedelta(days=30), False),
        (-timedelta(minutes=5), True),  # clock skew between services
    ],
)
def test_window_boundaries(age: Any, allowed: bool) -> None:
    claim = facts(delivered_at=NOW - age)
    if allowed:
        check_claim_allowed(claim, NOW)
    else:
        assert refusal(claim) == "refund_claim_window_closed"


def test_window_is_configurable() -> None:
    claim = facts(delivered_at=NOW - timedelta(days=10))
    assert refusal(claim, window_days=7) == "refund_claim_window_closed"
    check_claim_allowed(claim, NOW, window_days=14)


def test_refund_deadline() -> None:
    assert refund_deadline(DELIVERED) == DELIVERED + timedelta(days=7)


def test_origin_may_be_given_as_a_string() -> None:
    assert refusal(facts(origin="personal", delivered_at=None)) == "refund_claim_personal_lead"
    check_claim_allowed(facts(origin="purchased"), NOW)


def test_purchased_lead_without_delivery_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        facts(delivered_at=None)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError):
        check_claim_allowed(facts(), datetime(2025, 6, 10))


@pytest.mark.parametrize("reason", ["phone_unassigned", "wrong_country", "fake_record"])
def test_known_reasons(reason: str) -> None:
    assert parse_refund_reason(reason) == reason
    assert isinstance(parse_refund_reason(reason), RefundReason)


@pytest.mark.parametrize("reason", ["", None, "not_interested", "FAKE_RECORD", 1, "other"])
def test_unknown_reason_is_invalid_on_field_reason(reason: Any) -> None:
    with pytest.raises(Invalid) as caught:
        parse_refund_reason(reason)
    assert list(caught.value.fields) == ["reason"]


@pytest.mark.parametrize(
    ("changes", "blocked"),
    [
        ([], False),
        ([(ChangeSource.USER, "first_name")], True),
        ([("user", "mobile")], True),
        ([(ChangeSource.USER, "email"), (ChangeSource.ADMIN, "city")], True),
        ([(ChangeSource.USER, "status")], False),  # moving through the pipeline is normal use
        ([(ChangeSource.USER, "notes")], False),
        ([(ChangeSource.ADMIN, "first_name")], False),
        ([(ChangeSource.STAFF, "mobile")], False),
        ([(ChangeSource.SYSTEM, "email")], False),
    ],
)
def test_which_edits_bar_a_refund(changes: list[Any], blocked: bool) -> None:
    assert edited_by_user(changes) is blocked
