"""Lead grading: which tier (standard / premium / premium_plus) a lead is sold as.

The rules are data, not code, so staff can tune them from configuration (YAML)
without a release. Format::

    default: standard
    tiers:                      # checked in order; the first fully met wins
      - tier: premium_plus
        requires: [valid_mobile, valid_email, call_window, time_available, income_goal]
      - tier: premium
        requires: [valid_mobile, valid_email]

Rules are per office kind (issue 13 §1, ``rules_for``): construction leads (a home
business to build) keep the rules sold before kinds existed, ``DEFAULT_RULES``; distribution
leads (customers of products) favour a valid mobile plus a postal code,
``DISTRIBUTION_RULES``: a customer is called and served where they live.

Criteria: ``valid_mobile`` (mobile field valid and of a mobile-capable line
type: a landline typed into the mobile box does not make a premium lead),
``valid_landline``, ``valid_phone`` (any phone valid), ``valid_email`` (syntax
already enforced at capture, so: present), ``valid_postal_code`` (checked against the
country at capture, so: present), or the name of any optional lead
field, meaning "filled in".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from leads.domain.lead import LeadData
from leads.domain.phones import MOBILE_LIKE
from suivi_common.errors import Invalid


class Tier(StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"
    PREMIUM_PLUS = "premium_plus"


Criterion = Callable[[LeadData], bool]


def _valid_mobile(lead: LeadData) -> bool:
    return lead.mobile is not None and lead.mobile.valid and lead.mobile.line_type in MOBILE_LIKE


def _valid_landline(lead: LeadData) -> bool:
    return lead.landline is not None and lead.landline.valid


def _valid_phone(lead: LeadData) -> bool:
    return any(phone.valid for phone in lead.phones().values())


def _present(name: str) -> Criterion:
    return lambda lead: getattr(lead, name) is not None


_OPTIONAL_FIELDS = (
    "email",
    "mobile",
    "landline",
    "call_window",
    "postal_code",
    "city",
    "professional_situation",
    "time_available",
    "birth_date",
    "income_goal",
    "capture_ip",
)

CRITERIA: dict[str, Criterion] = {
    "valid_mobile": _valid_mobile,
    "valid_landline": _valid_landline,
    "valid_phone": _valid_phone,
    "valid_email": _present("email"),
    "valid_postal_code": _present("postal_code"),
    **{name: _present(name) for name in _OPTIONAL_FIELDS},
}

DEFAULT_RULES: dict[str, Any] = {
    "default": "standard",
    "tiers": [
        {
            "tier": "premium_plus",
            "requires": ["valid_mobile", "valid_email", "call_window", "time_available", "income_goal"],
        },
        {"tier": "premium", "requires": ["valid_mobile", "valid_email"]},
    ],
}

#: distribution leads: a valid mobile plus a postal code is what makes a lead worth more
DISTRIBUTION_RULES: dict[str, Any] = {
    "default": "standard",
    "tiers": [
        {"tier": "premium_plus",
         "requires": ["valid_mobile", "valid_postal_code", "valid_email", "call_window"]},
        {"tier": "premium", "requires": ["valid_mobile", "valid_postal_code"]},
    ],
}

#: the default rules of each office kind (``suivi_common.kinds``)
RULES_BY_KIND: dict[str, dict[str, Any]] = {
    "construction": DEFAULT_RULES,
    "distribution": DISTRIBUTION_RULES,
}


def rules_for(kind: str, configured: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """The rules grading leads of ``kind``: the configured ones, else the kind's defaults.
    An unknown kind is refused (a typo must not grade with the wrong rules)."""
    if kind not in RULES_BY_KIND:
        raise Invalid("unknown office kind", fields={"kind": "distribution or construction"})
    return configured if configured else RULES_BY_KIND[kind]


class Grader:
    """Grades leads with rules validated once, at load time (fail fast on typos)."""

    def __init__(self, rules: Mapping[str, Any] | None = None) -> None:
        rules = DEFAULT_RULES if rules is None else rules
        self.default = _tier(rules.get("default", Tier.STANDARD), "rules.default")
        raw_tiers = rules.get("tiers")
        if not isinstance(raw_tiers, list):
            raise Invalid("grading rules are invalid", fields={"rules.tiers": "must be a list"})
        self.tiers: list[tuple[Tier, tuple[str, ...]]] = []
        seen: set[Tier] = {self.default}
        for index, entry in enumerate(raw_tiers):
            where = f"rules.tiers[{index}]"
            if not isinstance(entry, Mapping):
                raise Invalid("grading rules are invalid", fields={where: "must be a mapping"})
            tier = _tier(entry.get("tier"), f"{where}.tier")
            if tier in seen:
                raise Invalid(
                    "grading rules are invalid",
                    fields={f"{where}.tier": f"{tier} is listed twice or is the default"},
                )
            seen.add(tier)
            self.tiers.append((tier, _requirements(entry.get("requires"), f"{where}.requires")))

    def grade(self, lead: LeadData) -> Tier:
        """The first tier whose requirements are all met, else the default tier."""
        for tier, requires in self.tiers:
            if all(CRITERIA[name](lead) for name in requires):
                return tier
        return self.default


def _tier(value: Any, where: str) -> Tier:
    try:
        return Tier(value)
    except ValueError:
        allowed = ", ".join(t.value for t in Tier)
        raise Invalid("grading rules are invalid", fields={where: f"must be one of {allowed}"}) from None


def _requirements(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise Invalid("grading rules are invalid", fields={where: "must be a non-empty list of criteria"})
    unknown = sorted(set(value) - CRITERIA.keys())
    if unknown:
        raise Invalid("grading rules are invalid", fields={where: f"unknown criteria: {', '.join(unknown)}"})
    return tuple(value)
