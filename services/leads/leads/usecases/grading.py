"""Which grading rules apply (terms: lead tiers): ``GRADING_RULES`` from the config (a
YAML mapping, see ``domain.grading``) or the domain's defaults, validated once per
distinct value. Capture grades every accepted lead with them."""
from __future__ import annotations

from leads.domain.grading import Grader
from leads.settings import TUNABLES

_graders: dict[str, Grader] = {}


def grader() -> Grader:
    rules = TUNABLES.get("GRADING_RULES")
    key = repr(rules)
    if key not in _graders:
        _graders[key] = Grader(rules or None)
    return _graders[key]
