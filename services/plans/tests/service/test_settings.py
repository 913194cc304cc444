"""Config: the price table and plan rules are read from nameko config, validated at start."""
from __future__ import annotations

import pytest
from nameko import config

from plans import settings
from plans.domain.pricing import Tier


def test_defaults_and_overrides() -> None:
    with config.patch({"PLAN_RULES": {"min_records": 10, "max_records": 50},
                       "PLAN_PRICE_TABLE": {"standard": [[1, 100]], "premium": [[1, 200]],
                                            "premium_plus": [[1, 300], [20, 250]]},
                       "RPC_TIMEOUT_SECONDS": "2.5"}, clear=True):
        loaded = settings.load()
    assert (loaded.rules.min_records, loaded.rules.max_records) == (10, 50)
    assert loaded.table.unit_price_cents(Tier.PREMIUM_PLUS, 20) == 250
    assert loaded.rpc_timeout == 2.5
    with config.patch({}, clear=True):
        default = settings.load()
    assert (default.rules.min_records, default.rules.max_records) == (30, 3000)
    assert default.table.unit_price_cents(Tier.STANDARD, 300) == 250


@pytest.mark.parametrize("bad", [
    {"PLAN_RULES": {"min_record": 10}},
    {"PLAN_RULES": {"min_records": 100, "max_records": 50}},
    {"PLAN_PRICE_TABLE": {"standard": [[1, 100]]}},
    {"PLAN_PRICE_TABLE": {"standard": [[1, 100], [10, 120]], "premium": [[1, 1]],
                          "premium_plus": [[1, 1]]}},
])
def test_a_bad_setting_stops_the_service_at_start(bad: dict) -> None:
    with config.patch(bad, clear=True), pytest.raises(ValueError):
        settings.PlanSettings().setup()
