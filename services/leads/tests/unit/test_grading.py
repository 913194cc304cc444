"""Grading rules: standard / premium / premium_plus."""

from dataclasses import replace
from typing import Any

import pytest

from leads.domain.grading import CRITERIA, DEFAULT_RULES, Grader, Tier
from leads.domain.lead import LeadData
from leads.domain.phones import LineType, PhoneInfo
from suivi_common.errors import Invalid

VALID_MOBILE = PhoneInfo("+33612345678", True, LineType.MOBILE, "FR", 33)
US_MOBILE = PhoneInfo("+12025550143", True, LineType.FIXED_LINE_OR_MOBILE, "US", 1)
INVALID_MOBILE = PhoneInfo("+330612", False, LineType.UNKNOWN, None, 33)
LANDLINE_IN_MOBILE_BOX = PhoneInfo("+33123456789", True, LineType.FIXED_LINE, "FR", 33)
VOIP_IN_MOBILE_BOX = PhoneInfo("+33912345678", True, LineType.VOIP, "FR", 33)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, Tier.PREMIUM_PLUS),
        ({"landline": None, "postal_code": None, "birth_date": None}, Tier.PREMIUM_PLUS),
        ({"mobile": US_MOBILE}, Tier.PREMIUM_PLUS),
        ({"call_window": None}, Tier.PREMIUM),
        ({"time_available": None}, Tier.PREMIUM),
        ({"income_goal": None}, Tier.PREMIUM),
        ({"call_window": None, "time_available": None, "income_goal": None}, Tier.PREMIUM),
        ({"mobile": INVALID_MOBILE}, Tier.STANDARD),
        ({"mobile": None}, Tier.STANDARD),
        ({"mobile": LANDLINE_IN_MOBILE_BOX}, Tier.STANDARD),
        ({"mobile": VOIP_IN_MOBILE_BOX}, Tier.STANDARD),
        ({"email": None}, Tier.STANDARD),
        ({"email": None, "mobile": None}, Tier.STANDARD),
    ],
)
def test_default_rules(lead: LeadData, changes: dict[str, Any], expected: Tier) -> None:
    assert Grader().grade(replace(lead, **changes)) is expected


def test_tier_values_are_the_glossary_names() -> None:
    assert [t.value for t in Tier] == ["standard", "premium", "premium_plus"]
    assert Tier.PREMIUM_PLUS == "premium_plus"


def test_explicit_default_rules_equal_implicit(lead: LeadData) -> None:
    assert Grader(DEFAULT_RULES).grade(lead) == Grader().grade(lead) == "premium_plus"


CUSTOM = {
    "default": "standard",
    "tiers": [
        {"tier": "premium_plus", "requires": ["valid_phone", "valid_email", "birth_date"]},
        {"tier": "premium", "requires": ["valid_landline"]},
    ],
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, Tier.PREMIUM_PLUS),
        ({"mobile": None}, Tier.PREMIUM_PLUS),  # the landline is a valid phone
        ({"birth_date": None}, Tier.PREMIUM),
        ({"birth_date": None, "landline": None}, Tier.STANDARD),
        ({"email": None, "mobile": None}, Tier.PREMIUM),
        ({"mobile": INVALID_MOBILE, "landline": None}, Tier.STANDARD),
    ],
)
def test_custom_rules(lead: LeadData, changes: dict[str, Any], expected: Tier) -> None:
    assert Grader(CUSTOM).grade(replace(lead, **changes)) is expected


def test_first_matching_tier_wins_in_listed_order(lead: LeadData) -> None:
    rules = {
        "tiers": [
            {"tier": "premium", "requires": ["valid_email"]},
            {"tier": "premium_plus", "requires": ["valid_email", "valid_mobile"]},
        ]
    }
    assert Grader(rules).grade(lead) is Tier.PREMIUM


def test_default_tier_defaults_to_standard(lead: LeadData) -> None:
    grader = Grader({"tiers": [{"tier": "premium", "requires": ["city"]}]})
    assert grader.grade(replace(lead, city=None)) is Tier.STANDARD


def test_no_tiers_means_everything_is_the_default(lead: LeadData) -> None:
    assert Grader({"default": "standard", "tiers": []}).grade(lead) is Tier.STANDARD


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({}, "rules.tiers"),
        ({"tiers": "premium"}, "rules.tiers"),
        ({"default": "gold", "tiers": []}, "rules.default"),
        ({"tiers": ["premium"]}, "rules.tiers[0]"),
        ({"tiers": [{"tier": "gold", "requires": ["city"]}]}, "rules.tiers[0].tier"),
        ({"tiers": [{"requires": ["city"]}]}, "rules.tiers[0].tier"),
        ({"tiers": [{"tier": "premium", "requires": []}]}, "rules.tiers[0].requires"),
        ({"tiers": [{"tier": "premium", "requires": "city"}]}, "rules.tiers[0].requires"),
        ({"tiers": [{"tier": "premium", "requires": ["valid_fax"]}]}, "rules.tiers[0].requires"),
        ({"tiers": [{"tier": "premium", "requires": [1]}]}, "rules.tiers[0].requires"),
        (
            {
                "tiers": [
                    {"tier": "premium", "requires": ["city"]},
                    {"tier": "premium", "requires": ["email"]},
                ]
            },
            "rules.tiers[1].tier",
        ),
        ({"tiers": [{"tier": "standard", "requires": ["city"]}]}, "rules.tiers[0].tier"),
    ],
)
def test_invalid_rules_fail_at_load_time(rules: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        Grader(rules)
    assert list(caught.value.fields) == [field]


def test_unknown_criterion_is_named_in_the_error() -> None:
    with pytest.raises(Invalid) as caught:
        Grader({"tiers": [{"tier": "premium", "requires": ["valid_fax", "city"]}]})
    assert "valid_fax" in caught.value.fields["rules.tiers[0].requires"]


def test_every_optional_field_is_a_presence_criterion(lead: LeadData) -> None:
    for name in ("call_window", "postal_code", "city", "professional_situation", "birth_date"):
        assert CRITERIA[name](lead) is True
        assert CRITERIA[name](replace(lead, **{name: None})) is False
