from __future__ import annotations

from typing import Any

import pytest

from plans.domain.pricing import (
    DEFAULT_PRICE_TABLE,
    DEFAULT_PRICE_TABLE_CONFIG,
    Quote,
    Tier,
    convert_records,
    parse_price_table,
    parse_tier,
    quote,
    quote_extension,
)
from plans.domain.rules import PlanRules
from suivi_common.errors import Invalid


@pytest.mark.parametrize(
    ("tier", "records", "unit"),
    [
        (Tier.STANDARD, 1, 300),
        (Tier.STANDARD, 99, 300),
        (Tier.STANDARD, 100, 250),
        (Tier.STANDARD, 499, 250),
        (Tier.STANDARD, 500, 200),
        (Tier.STANDARD, 999, 200),
        (Tier.STANDARD, 1000, 180),
        (Tier.STANDARD, 3000, 180),
        (Tier.PREMIUM, 30, 450),
        (Tier.PREMIUM, 300, 400),
        (Tier.PREMIUM, 500, 350),
        (Tier.PREMIUM_PLUS, 30, 650),
        (Tier.PREMIUM_PLUS, 100, 580),
        (Tier.PREMIUM_PLUS, 1000, 450),
    ],
)
def test_unit_price_follows_volume_bands(tier: Tier, records: int, unit: int) -> None:
    assert DEFAULT_PRICE_TABLE.unit_price_cents(tier, records) == unit


def test_higher_tiers_cost_more_in_every_band() -> None:
    for records in (30, 100, 500, 1000):
        prices = [DEFAULT_PRICE_TABLE.unit_price_cents(tier, records) for tier in Tier]
        assert prices == sorted(prices) and len(set(prices)) == 3


def test_the_default_table_is_the_default_config() -> None:
    assert parse_price_table(DEFAULT_PRICE_TABLE_CONFIG) == DEFAULT_PRICE_TABLE


def test_tuples_from_yaml_or_code_are_accepted() -> None:
    raw = {tier: tuple(tuple(band) for band in bands) for tier, bands in DEFAULT_PRICE_TABLE_CONFIG.items()}
    assert parse_price_table(raw) == DEFAULT_PRICE_TABLE


def _with(tier: str, bands: Any) -> dict[str, Any]:
    raw: dict[str, Any] = dict(DEFAULT_PRICE_TABLE_CONFIG)
    raw[tier] = bands
    return raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([["standard", 1]], "mapping"),
        ({k: v for k, v in DEFAULT_PRICE_TABLE_CONFIG.items() if k != "premium"}, "missing"),
        ({**DEFAULT_PRICE_TABLE_CONFIG, "gold": [[1, 900]]}, "unknown tier"),
        (_with("standard", []), "non-empty"),
        (_with("standard", "300"), "non-empty"),
        (_with("standard", [[10, 300]]), "start at 1"),
        (_with("standard", [[1, 300], [100, 250], [100, 200]]), "strictly increase"),
        (_with("standard", [[1, 300], [100, 250], [50, 200]]), "strictly increase"),
        (_with("standard", [[1, 300], [100, 350]]), "must not rise"),
        (_with("standard", [[1, 0]]), "positive"),
        (_with("standard", [[1, 2.5]]), "two integers"),
        (_with("standard", [[True, 300]]), "two integers"),
        (_with("standard", [[1, 300, 5]]), "two integers"),
        (_with("standard", [300]), "two integers"),
    ],
)
def test_bad_price_tables_are_refused(raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_price_table(raw)


@pytest.mark.parametrize(
    ("records", "tier", "expected"),
    [
        (300, "standard", Quote(unit_price_cents=250, total_cents=75_000, daily_quota=10)),
        (30, "standard", Quote(unit_price_cents=300, total_cents=9_000, daily_quota=1)),
        (31, "premium", Quote(unit_price_cents=450, total_cents=13_950, daily_quota=2)),
        (3000, "premium_plus", Quote(unit_price_cents=450, total_cents=1_350_000, daily_quota=100)),
        (500, Tier.PREMIUM, Quote(unit_price_cents=350, total_cents=175_000, daily_quota=17)),
    ],
)
def test_quote(records: int, tier: str, expected: Quote) -> None:
    result = quote(records, tier, DEFAULT_PRICE_TABLE)
    assert result == expected
    assert result.days == 30


@pytest.mark.parametrize("records", [29, 3001, 0, -1, "100", 30.5, True, None])
def test_quote_refuses_records_out_of_bounds(records: Any) -> None:
    with pytest.raises(Invalid) as caught:
        quote(records, "standard", DEFAULT_PRICE_TABLE)
    assert caught.value.code == "records_out_of_bounds"
    assert set(caught.value.fields or {}) == {"records"}


def test_record_bounds_are_configurable() -> None:
    rules = PlanRules(min_records=10, max_records=50)
    assert quote(10, "standard", DEFAULT_PRICE_TABLE, rules).total_cents == 3000
    with pytest.raises(Invalid):
        quote(51, "standard", DEFAULT_PRICE_TABLE, rules)
    with pytest.raises(Invalid):
        quote(9, "standard", DEFAULT_PRICE_TABLE, rules)


@pytest.mark.parametrize("tier", ["gold", "Standard", "", None, 3])
def test_unknown_tier_is_invalid_on_field_tier(tier: Any) -> None:
    with pytest.raises(Invalid) as caught:
        quote(300, tier, DEFAULT_PRICE_TABLE)
    assert caught.value.code == "tier_unknown"
    assert set(caught.value.fields or {}) == {"tier"}


def test_parse_tier_accepts_every_tier() -> None:
    assert [parse_tier(t.value) for t in Tier] == list(Tier)


@pytest.mark.parametrize(
    ("records", "credit", "unit", "gross", "applied", "total"),
    [
        (50, 0, 300, 15_000, 0, 15_000),
        (50, 1_000, 300, 15_000, 1_000, 14_000),
        (5, 2_000, 300, 1_500, 1_500, 0),  # credit never makes the price negative
        (150, 0, 250, 37_500, 0, 37_500),  # band of the extension's own size
    ],
)
def test_quote_extension_deducts_credit(
    records: int, credit: int, unit: int, gross: int, applied: int, total: int
) -> None:
    result = quote_extension(records, "standard", DEFAULT_PRICE_TABLE, credit)
    assert (result.unit_price_cents, result.gross_cents) == (unit, gross)
    assert (result.credit_applied_cents, result.total_cents) == (applied, total)
    assert result.records == records and result.tier == Tier.STANDARD


@pytest.mark.parametrize("records", [0, -3, 3001, 2.0])
def test_quote_extension_bounds(records: Any) -> None:
    with pytest.raises(Invalid) as caught:
        quote_extension(records, "standard", DEFAULT_PRICE_TABLE, 0)
    assert caught.value.code == "extension_records_out_of_bounds"
    assert set(caught.value.fields or {}) == {"records"}


def test_quote_extension_refuses_unknown_tier() -> None:
    with pytest.raises(Invalid) as caught:
        quote_extension(10, "gold", DEFAULT_PRICE_TABLE, 0)
    assert caught.value.code == "tier_unknown"


@pytest.mark.parametrize(
    ("records", "from_unit", "to_unit", "converted", "residue"),
    [
        (300, 250, 400, 187, 200),  # 75 000 c -> 187 x 400 + 200
        (101, 580, 400, 146, 180),  # 58 580 c -> 146 x 400 + 180
        (100, 400, 250, 160, 0),
        (1, 250, 650, 0, 250),
        (0, 250, 400, 0, 0),
    ],
)
def test_convert_records_keeps_value_to_the_cent(
    records: int, from_unit: int, to_unit: int, converted: int, residue: int
) -> None:
    result = convert_records(records, from_unit, to_unit)
    assert (result.records, result.residue_cents) == (converted, residue)
    assert result.records * to_unit + result.residue_cents == records * from_unit
