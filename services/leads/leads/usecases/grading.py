"""Which grading rules apply (terms: lead tiers), per office kind (issue 13 §1): for
construction leads ``GRADING_RULES`` from the config, for distribution leads
``GRADING_RULES_DISTRIBUTION`` (YAML mappings, see ``domain.grading``), else the domain's
defaults of the kind; validated once per distinct value. Capture grades every accepted lead
with the rules of its capture site's kind."""
from __future__ import annotations

from leads.domain.grading import Grader, rules_for
from leads.settings import TUNABLES
from suivi_common.kinds import DEFAULT_KIND, DISTRIBUTION

_graders: dict[str, Grader] = {}

SETTING = {DEFAULT_KIND: "GRADING_RULES", DISTRIBUTION: "GRADING_RULES_DISTRIBUTION"}


def grader(kind: str = DEFAULT_KIND) -> Grader:
    rules = rules_for(kind, TUNABLES.get(SETTING.get(kind, "GRADING_RULES")))
    key = repr((kind, rules))
    if key not in _graders:
        _graders[key] = Grader(rules)
    return _graders[key]
