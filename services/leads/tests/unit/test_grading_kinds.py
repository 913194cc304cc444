"""Grading per office kind (issue 13 §1): construction leads keep the rules sold before
kinds existed; distribution leads favour a valid mobile plus a postal code."""
from dataclasses import replace
from typing import Any

import pytest

from leads.domain.grading import (
    DEFAULT_RULES,
    DISTRIBUTION_RULES,
    Grader,
    Tier,
    rules_for,
)
from leads.domain.lead import LeadData
from leads.domain.phones import LineType, PhoneInfo
from leads.usecases import grading
from suivi_common.errors import Invalid

LANDLINE_IN_MOBILE_BOX = PhoneInfo("+33123456789", True, LineType.FIXED_LINE, "FR", 33)
INVALID_MOBILE = PhoneInfo("+330612", False, LineType.UNKNOWN, None, 33)


def test_construction_rules_are_todays_rules() -> None:
    assert rules_for("construction") is DEFAULT_RULES
    assert grading.grader().tiers == Grader().tiers
    assert grading.grader("construction").tiers == Grader(DEFAULT_RULES).tiers


def test_each_kind_has_its_own_defaults_and_an_unknown_kind_is_refused() -> None:
    assert rules_for("distribution") is DISTRIBUTION_RULES
    assert grading.grader("distribution").tiers == Grader(DISTRIBUTION_RULES).tiers
    with pytest.raises(Invalid):
        rules_for("shop")


def test_configured_rules_win_over_the_kinds_defaults() -> None:
    custom = {"tiers": [{"tier": "premium", "requires": ["valid_email"]}]}
    assert rules_for("distribution", custom) is custom


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, Tier.PREMIUM_PLUS),
    # no e-mail: a customer with a mobile and a postal code is still worth more
    ({"email": None}, Tier.PREMIUM),
    ({"call_window": None}, Tier.PREMIUM),
    # nothing about a home business matters to a customer
    ({"time_available": None, "income_goal": None, "professional_situation": None},
     Tier.PREMIUM_PLUS),
    ({"postal_code": None}, Tier.STANDARD),
    ({"mobile": None}, Tier.STANDARD),
    ({"mobile": INVALID_MOBILE}, Tier.STANDARD),
    ({"mobile": LANDLINE_IN_MOBILE_BOX}, Tier.STANDARD),
])
def test_distribution_rules(lead: LeadData, changes: dict[str, Any], expected: Tier) -> None:
    assert Grader(DISTRIBUTION_RULES).grade(replace(lead, **changes)) is expected


@pytest.mark.parametrize(("changes", "construction", "distribution"), [
    # a valid mobile and e-mail without a postal code: premium for construction only
    ({"postal_code": None, "call_window": None}, Tier.PREMIUM, Tier.STANDARD),
    # a valid mobile and a postal code without an e-mail: premium for distribution only
    ({"email": None}, Tier.STANDARD, Tier.PREMIUM),
])
def test_the_same_lead_grades_differently_per_kind(lead: LeadData, changes: dict[str, Any],
                                                   construction: Tier,
                                                   distribution: Tier) -> None:
    person = replace(lead, **changes)
    assert grading.grader("construction").grade(person) is construction
    assert grading.grader("distribution").grade(person) is distribution
