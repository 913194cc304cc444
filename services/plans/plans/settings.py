"""The plans service's tunables, read from nameko config (then env, then the default).

The price table and plan rules are parsed once when the container sets up
(``PlanSettings``), so a bad table stops the service at start instead of
mispricing a plan later.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nameko.extensions import DependencyProvider

from plans.domain.pricing import DEFAULT_PRICE_TABLE_CONFIG, PriceTable, parse_price_table
from plans.domain.rules import PlanRules
from suivi_common.kinds import DISTRIBUTION
from suivi_common.settings import Tunables, setting

TUNABLES = Tunables(DAY_CLOSE_INTERVAL_SECONDS=60, RPC_TIMEOUT_SECONDS=5, FORECAST_MAX_DAYS=366)


@dataclass(frozen=True)
class PlanConfig:
    """What the rules need from config: prices (terms art. 6) and plan bounds."""

    table: PriceTable = field(default_factory=lambda: parse_price_table(DEFAULT_PRICE_TABLE_CONFIG))
    rules: PlanRules = field(default_factory=PlanRules)
    #: prices of distribution plans (``PLAN_PRICE_TABLE_DISTRIBUTION``); None: ``table``'s
    distribution_table: PriceTable | None = None
    rpc_timeout: float = 5.0
    forecast_max_days: int = 366

    def table_for(self, kind: str) -> PriceTable:
        """The price table of plans of ``kind`` (issue 13 §1): ``PLAN_PRICE_TABLE`` is
        construction's (the table sold before kinds), distribution has its own setting."""
        if kind == DISTRIBUTION and self.distribution_table is not None:
            return self.distribution_table
        return self.table


def load() -> PlanConfig:
    """Parse ``PLAN_PRICE_TABLE`` (construction), ``PLAN_PRICE_TABLE_DISTRIBUTION`` and
    ``PLAN_RULES``; raises ValueError on a bad value."""
    raw_table = setting("PLAN_PRICE_TABLE") or DEFAULT_PRICE_TABLE_CONFIG
    raw_distribution = setting("PLAN_PRICE_TABLE_DISTRIBUTION")
    raw_rules = setting("PLAN_RULES") or {}
    return PlanConfig(
        table=parse_price_table(raw_table),
        distribution_table=parse_price_table(raw_distribution) if raw_distribution else None,
        rules=PlanRules.from_mapping(raw_rules),
        rpc_timeout=TUNABLES.get_float("RPC_TIMEOUT_SECONDS"),
        forecast_max_days=TUNABLES.get_int("FORECAST_MAX_DAYS"),
    )


class PlanSettings(DependencyProvider):
    """Injects the parsed ``PlanConfig``; parsing in ``setup`` fails the start on bad config."""

    def setup(self) -> None:
        self.config = load()

    def get_dependency(self, worker_ctx: Any) -> PlanConfig:
        return self.config
