from __future__ import annotations

from typing import Any

import pytest

from plans.domain.rules import DEFAULT_RULES, PLAN_DAYS, PlanRules


def test_defaults() -> None:
    assert PLAN_DAYS == 30
    assert (DEFAULT_RULES.min_records, DEFAULT_RULES.max_records) == (30, 3000)
    assert DEFAULT_RULES.absence_max_days == 30
    assert DEFAULT_RULES.force_majeure_window_days == 30
    assert DEFAULT_RULES.proof_max_bytes == 5 * 1024 * 1024


def test_from_mapping_overrides_only_given_keys() -> None:
    rules = PlanRules.from_mapping({"min_records": 10, "absence_max_days": 14})
    assert rules.min_records == 10
    assert rules.absence_max_days == 14
    assert rules.max_records == 3000


@pytest.mark.parametrize(
    "raw",
    [
        {"max_record": 10},  # typo
        {"min_records": 0},
        {"max_records": -5},
        {"proof_max_bytes": True},
        {"absence_max_days": "30"},
        {"min_records": 100, "max_records": 50},
    ],
)
def test_bad_config_is_refused(raw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PlanRules.from_mapping(raw)
