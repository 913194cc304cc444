"""Tunable limits of the plan rules, loadable from a plain mapping (YAML).

The terms fix the 30-day plan length, so it is a constant; the other limits are
commercial choices the platform may tune without a code change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

PLAN_DAYS = 30
"""Delivery days of a plan (terms art. 3.B.iii: "sur une durée de 30 jours")."""


@dataclass(frozen=True)
class PlanRules:
    """Configurable bounds; every value is a positive integer."""

    min_records: int = 30
    max_records: int = 3000
    absence_max_days: int = 30
    force_majeure_window_days: int = 30
    proof_max_bytes: int = 5 * 1024 * 1024

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"plan rules: {item.name} must be a positive integer, got {value!r}")
        if self.min_records > self.max_records:
            raise ValueError("plan rules: min_records must not exceed max_records")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> PlanRules:
        """Build from config; unknown keys are refused so a typo is not silently ignored."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"plan rules: unknown setting(s) {unknown}")
        return cls(**dict(raw))


DEFAULT_RULES = PlanRules()
