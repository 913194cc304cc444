"""Plan prices: unit price per tier and volume band, in euro cents.

Money stays in integer cents so totals, credits and tier conversions never
drift through float rounding. The table is plain config (YAML-friendly):

    standard: [[1, 300], [100, 250], [500, 200]]

reads "from 1 record 3.00 EUR each, from 100 records 2.50 EUR, from 500 records 2.00 EUR".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from plans.domain.quota import daily_quota
from plans.domain.rules import DEFAULT_RULES, PLAN_DAYS, PlanRules
from suivi_common.errors import Invalid


class Tier(StrEnum):
    """Lead quality grade a plan buys (Standard / Premium / Premium+)."""

    STANDARD = "standard"
    PREMIUM = "premium"
    PREMIUM_PLUS = "premium_plus"


def parse_tier(value: object, field: str = "tier") -> Tier:
    """Tier from user input; anything else is a 400 naming the field."""
    if isinstance(value, str):
        try:
            return Tier(value)
        except ValueError:
            pass
    raise Invalid(
        "Unknown tier",
        fields={field: "must be one of: " + ", ".join(tier.value for tier in Tier)},
        code="tier_unknown",
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class PriceBand:
    """From ``min_records`` records ordered, each record costs ``unit_price_cents``."""

    min_records: int
    unit_price_cents: int


@dataclass(frozen=True)
class PriceTable:
    """Bands per tier, thresholds increasing, first threshold 1. Build it with parse_price_table."""

    bands: Mapping[Tier, tuple[PriceBand, ...]]

    def unit_price_cents(self, tier: Tier, records: int) -> int:
        """Price of the highest band whose threshold ``records`` reaches."""
        if records < 1:
            raise ValueError("records must be at least 1")
        price = self.bands[tier][0].unit_price_cents
        for band in self.bands[tier]:
            if records < band.min_records:
                break
            price = band.unit_price_cents
        return price

DEFAULT_PRICE_TABLE_CONFIG: dict[str, list[list[int]]] = {
    "standard": [[1, 300], [100, 250], [500, 200], [1000, 180]],
    "premium": [[1, 450], [100, 400], [500, 350], [1000, 320]],
    "premium_plus": [[1, 650], [100, 580], [500, 500], [1000, 450]],
}


def parse_price_table(raw: Mapping[str, Any]) -> PriceTable:
    """Validate a config mapping; raises ValueError (a bad table must stop the service at startup)."""
    if not isinstance(raw, Mapping):
        raise ValueError("price table: expected a mapping of tier -> bands")
    unknown = sorted(set(raw) - {tier.value for tier in Tier})
    if unknown:
        raise ValueError(f"price table: unknown tier(s) {unknown}")
    bands: dict[Tier, tuple[PriceBand, ...]] = {}
    for tier in Tier:
        if tier.value not in raw:
            raise ValueError(f"price table: tier {tier.value!r} is missing")
        bands[tier] = _parse_bands(tier.value, raw[tier.value])
    return PriceTable(bands)


def _parse_bands(name: str, raw: object) -> tuple[PriceBand, ...]:
    if not isinstance(raw, list | tuple) or not raw:
        raise ValueError(f"price table {name}: expected a non-empty list of [min_records, unit_price_cents]")
    parsed: list[PriceBand] = []
    for index, item in enumerate(raw):
        where = f"price table {name}[{index}]"
        if not isinstance(item, list | tuple) or len(item) != 2 or not all(_is_int(v) for v in item):
            raise ValueError(f"{where}: expected [min_records, unit_price_cents] as two integers")
        min_records, price = item
        if price < 1:
            raise ValueError(f"{where}: unit price must be a positive number of cents")
        if not parsed:
            if min_records != 1:
                raise ValueError(f"{where}: the first band must start at 1 record")
        else:
            previous = parsed[-1]
            if min_records <= previous.min_records:
                raise ValueError(f"{where}: band thresholds must strictly increase")
            # A larger order must never cost more per record, or splitting orders would pay.
            if price > previous.unit_price_cents:
                raise ValueError(f"{where}: unit price must not rise with volume")
        parsed.append(PriceBand(min_records, price))
    return tuple(parsed)


DEFAULT_PRICE_TABLE = parse_price_table(DEFAULT_PRICE_TABLE_CONFIG)


def check_records(records: object, rules: PlanRules = DEFAULT_RULES) -> int:
    """A plan orders between the configured bounds of records (400 on field "records")."""
    if (
        isinstance(records, bool)
        or not isinstance(records, int)
        or not (rules.min_records <= records <= rules.max_records)
    ):
        raise Invalid(
            f"A plan orders from {rules.min_records} to {rules.max_records} records",
            fields={"records": f"must be an integer from {rules.min_records} to {rules.max_records}"},
            code="records_out_of_bounds",
        )
    return records


@dataclass(frozen=True)
class Quote:
    """What a new plan costs and delivers per day."""

    unit_price_cents: int
    total_cents: int
    daily_quota: int
    days: int = PLAN_DAYS


def quote(records: int, tier: Tier | str, table: PriceTable, rules: PlanRules = DEFAULT_RULES) -> Quote:
    """Price and first-day quota of a new plan, at the table in force now (art. 6)."""
    parsed_tier = parse_tier(tier)
    check_records(records, rules)
    unit = table.unit_price_cents(parsed_tier, records)
    return Quote(
        unit_price_cents=unit,
        total_cents=unit * records,
        daily_quota=daily_quota(records, PLAN_DAYS),
    )


@dataclass(frozen=True)
class ExtensionQuote:
    """Price of extending a plan by ``records``; the plan's credit is deducted, never below zero."""

    tier: Tier
    records: int
    unit_price_cents: int
    gross_cents: int
    credit_applied_cents: int
    total_cents: int


def quote_extension(
    records: int,
    tier: Tier | str,
    table: PriceTable,
    credit_cents: int,
    rules: PlanRules = DEFAULT_RULES,
) -> ExtensionQuote:
    """Price ``records`` more of the plan's tier at the band of the extension's own size.

    An extension is a top-up, so it may be smaller than a new plan's minimum
    (1 record); it may not exceed the maximum of a plan.
    """
    parsed_tier = parse_tier(tier)
    if not _is_int(records) or not 1 <= records <= rules.max_records:
        raise Invalid(
            f"An extension adds from 1 to {rules.max_records} records",
            fields={"records": f"must be an integer from 1 to {rules.max_records}"},
            code="extension_records_out_of_bounds",
        )
    if credit_cents < 0:
        raise ValueError("credit cannot be negative")
    unit = table.unit_price_cents(parsed_tier, records)
    gross = unit * records
    applied = min(credit_cents, gross)
    return ExtensionQuote(
        tier=parsed_tier,
        records=records,
        unit_price_cents=unit,
        gross_cents=gross,
        credit_applied_cents=applied,
        total_cents=gross - applied,
    )


@dataclass(frozen=True)
class ValueConversion:
    """Records bought by a value at a new unit price; the cents left over become credit."""

    records: int
    residue_cents: int


def convert_records(records: int, from_unit_cents: int, to_unit_cents: int) -> ValueConversion:
    """Re-express ``records`` at another unit price keeping their value to the cent."""
    if records < 0 or from_unit_cents < 1 or to_unit_cents < 1:
        raise ValueError("records must be >= 0 and unit prices positive")
    value = records * from_unit_cents
    converted, residue = divmod(value, to_unit_cents)
    return ValueConversion(records=converted, residue_cents=residue)
