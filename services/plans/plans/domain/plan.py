"""The plan entity: an order of leads of one tier in one country, delivered over 30 delivery days.

Accounting model (every other module relies on it):

* ``remaining`` is the number of records still owed at the start of the first
  day not yet closed. Day close lowers it by what was taken plus what was
  forfeited; extension, tier change, refund credit and force-majeure approval
  adjust it explicitly. Leads taken during the current day are therefore still
  inside ``remaining`` until that day is closed; operations that re-value what
  is left mid-day take a ``taken_today`` argument so those leads are neither
  converted nor re-priced.
* The calendar is ``start_date`` + ``delivery_days_total`` + ``blocked_dates``.
  The end is the ``delivery_days_total``-th non-blocked day counted from the
  start, so blocking a date (absence, sales closure) pushes the end back by one
  delivery day when the date falls inside the plan, and a date blocked for two
  reasons still counts once. Blocked dates after the end are kept: when the end
  moves onto them they are skipped too.
* The quota of day D is ceil(remaining / delivery days left from D to the end),
  and 0 on blocked days, outside the plan, and when the plan is not active.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from plans.domain.countries import parse_country
from plans.domain.paris_calendar import ONE_DAY, date_span
from plans.domain.pricing import (
    ExtensionQuote,
    PriceTable,
    Tier,
    check_records,
    convert_records,
    parse_tier,
)
from plans.domain.quota import daily_quota
from plans.domain.rules import DEFAULT_RULES, PLAN_DAYS, PlanRules
from plans.domain.serialization import date_from_plain, date_to_plain
from suivi_common.errors import Conflict, Invalid
from suivi_common.kinds import DEFAULT_KIND, kind_of, parse_kind


class PlanStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class TierChange:
    """Outcome of a tier change, for the confirmation screen and the audit trail."""

    from_tier: Tier
    to_tier: Tier
    records_before: int
    records_after: int
    unit_price_before_cents: int
    unit_price_after_cents: int
    residue_cents: int


@dataclass(frozen=True)
class ExcusedAbsence:
    """Outcome of an approved force-majeure absence on one plan."""

    records_restored: int
    delivery_days_restored: int
    reopened: bool


@dataclass
class Plan:
    """One plan. State is plain (dates, ints, strings) so it persists as-is via to_dict."""

    id: str
    user_id: str
    country: str
    tier: Tier
    records_ordered: int
    """Records bought by the orders (initial + extensions); selects the price band on tier change."""
    unit_price_cents: int
    """Locked unit price of the records still owed (art. 6: price in force at order time)."""
    remaining: int
    status: PlanStatus = PlanStatus.PENDING_PAYMENT
    start_date: date | None = None
    activated_on: date | None = None
    delivery_days_total: int = PLAN_DAYS
    blocked_dates: set[date] = field(default_factory=set)
    forfeits: dict[date, int] = field(default_factory=dict)
    """Records forfeited per closed day, kept so force majeure can give them back."""
    credit_cents: int = 0
    """Cents left over by tier changes (and extension price rounding), deducted from the next extension."""
    last_tier_change_on: date | None = None
    last_closed_date: date | None = None
    kind: str = DEFAULT_KIND
    """The office kind whose leads the plan buys (issue 13 §1): distribution or construction."""

    # ----------------------------------------------------------------- lifecycle

    @classmethod
    def order(
        cls,
        *,
        plan_id: str,
        user_id: str,
        country: str,
        tier: Tier | str,
        records: int,
        table: PriceTable,
        rules: PlanRules = DEFAULT_RULES,
        kind: object = None,
    ) -> Plan:
        """A new plan awaiting payment, its unit price locked from the table in force now
        (the table of the plan's ``kind``: the caller picks it; absent kind: construction)."""
        parsed_tier = parse_tier(tier)
        parsed_country = parse_country(country)
        parsed_kind = parse_kind(kind)
        check_records(records, rules)
        return cls(
            id=plan_id,
            user_id=user_id,
            country=parsed_country,
            tier=parsed_tier,
            records_ordered=records,
            unit_price_cents=table.unit_price_cents(parsed_tier, records),
            remaining=records,
            kind=parsed_kind,
        )

    def activate(self, today: date) -> None:
        """Payment validated: delivery starts today (art. 6, nothing is delivered before).

        Absences and sales closures accepted earlier are not known here: the
        caller applies them (apply_planned_absence / apply_sales_closure).
        """
        if self.status != PlanStatus.PENDING_PAYMENT:
            raise Conflict("Only a plan awaiting payment can be activated", code="plan_not_pending_payment")
        self.status = PlanStatus.ACTIVE
        self.start_date = today
        self.activated_on = today
        self.delivery_days_total = PLAN_DAYS

    def cancel(self) -> None:
        """Unpaid order dropped, or staff stopping a plan; finished plans stay as they are."""
        if self.status not in (PlanStatus.PENDING_PAYMENT, PlanStatus.ACTIVE):
            raise Conflict(f"A {self.status} plan cannot be cancelled", code="plan_not_cancellable")
        self.status = PlanStatus.CANCELLED

    def _require_active(self) -> None:
        if self.status != PlanStatus.ACTIVE:
            raise Conflict(f"The plan is {self.status}, not active", code="plan_not_active")

    # ------------------------------------------------------------------ calendar

    @property
    def end_date(self) -> date | None:
        """Date of the last delivery day, or None before activation."""
        if self.start_date is None:
            return None
        day = self.start_date
        counted = 0
        while True:
            if day not in self.blocked_dates:
                counted += 1
                if counted >= self.delivery_days_total:
                    return day
            day += ONE_DAY

    def is_delivery_day(self, day: date) -> bool:
        end = self.end_date
        if self.start_date is None or end is None:
            return False
        return self.start_date <= day <= end and day not in self.blocked_dates

    def remaining_delivery_days(self, day: date) -> int:
        """Non-blocked days from ``day`` (inclusive) to the end: the divisor of the quota."""
        end = self.end_date
        if self.start_date is None or end is None:
            return 0
        first = max(day, self.start_date)
        return sum(1 for current in date_span(first, end) if current not in self.blocked_dates)

    def quota_for(self, day: date, remaining: int | None = None) -> int:
        """Records due on ``day``, given the balance at the start of that day.

        ``remaining`` defaults to the plan's balance, which is the balance at the
        start of ``next_day_to_close``; the forecast passes simulated balances.
        """
        balance = self.remaining if remaining is None else remaining
        if self.status != PlanStatus.ACTIVE or balance <= 0 or not self.is_delivery_day(day):
            return 0
        return daily_quota(balance, self.remaining_delivery_days(day))

    @property
    def next_day_to_close(self) -> date | None:
        """First day whose close has not been applied yet."""
        if self.last_closed_date is not None:
            return self.last_closed_date + ONE_DAY
        return self.start_date

    def block_dates(self, days: Iterable[date]) -> int:
        """Mark days without delivery; returns how many were not blocked already."""
        new = set(days) - self.blocked_dates
        self.blocked_dates |= new
        return len(new)

    def _check_taken_today(self, taken_today: int) -> None:
        if (
            isinstance(taken_today, bool)
            or not isinstance(taken_today, int)
            or not (0 <= taken_today <= self.remaining)
        ):
            raise Invalid(
                "Leads taken today must be between 0 and the records remaining",
                fields={"taken_today": f"must be an integer from 0 to {self.remaining}"},
                code="taken_today_invalid",
            )

    # ----------------------------------------------------------- tier change

    def preview_tier_change(
        self, new_tier: Tier | str, table: PriceTable, taken_today: int = 0
    ) -> TierChange:
        """What a tier change would give, without the once-a-day check or any change.

        Value is preserved: the records still owed are valued at the plan's locked
        unit price, then bought back at the new tier's price for the band of
        ``records_ordered`` (the size of what was paid for, so converting back and
        forth stays in the same band and cannot manufacture value). Cents that do
        not buy a whole record become credit.
        """
        self._require_active()
        target = parse_tier(new_tier)
        if target == self.tier:
            raise Invalid(
                "The plan already has this tier",
                fields={"tier": f"is already {self.tier}"},
                code="tier_unchanged",
            )
        self._check_taken_today(taken_today)
        owed = self.remaining - taken_today
        if owed == 0:
            raise Conflict("No record is left to convert", code="tier_change_nothing_remaining")
        new_unit = table.unit_price_cents(target, self.records_ordered)
        conversion = convert_records(owed, self.unit_price_cents, new_unit)
        if conversion.records == 0:
            raise Conflict(
                "The records left are worth less than one record of that tier",
                code="tier_change_too_few_records",
            )
        return TierChange(
            from_tier=self.tier,
            to_tier=target,
            records_before=owed,
            records_after=conversion.records,
            unit_price_before_cents=self.unit_price_cents,
            unit_price_after_cents=new_unit,
            residue_cents=conversion.residue_cents,
        )

    def change_tier(
        self, new_tier: Tier | str, table: PriceTable, today: date, taken_today: int = 0
    ) -> TierChange:
        """Switch tier, at most once per Paris calendar day (art. 3.B.iii)."""
        self._require_active()
        if self.last_tier_change_on == today:
            raise Conflict("Tier can be changed once per calendar day", code="tier_change_daily_limit")
        change = self.preview_tier_change(new_tier, table, taken_today)
        self.tier = change.to_tier
        self.unit_price_cents = change.unit_price_after_cents
        self.remaining = change.records_after + taken_today
        self.credit_cents += change.residue_cents
        self.last_tier_change_on = today
        return change

    # ------------------------------------------------------------- extension

    def apply_extension(self, quote: ExtensionQuote, today: date, taken_today: int = 0) -> None:
        """Paid extension: more records, start reset to today, 30 delivery days again.

        The quote must still match the plan (same tier, credit still available),
        otherwise the payment was computed on stale data. The locked unit price
        becomes the value-weighted mean of the records owed and the records
        bought, so a later tier change values both at what was paid; the cents
        lost to integer division go to credit. A completed plan may be extended
        too (it is the only way to spend its credit).
        """
        if self.status not in (PlanStatus.ACTIVE, PlanStatus.COMPLETED):
            raise Conflict(f"A {self.status} plan cannot be extended", code="plan_not_extendable")
        if quote.tier != self.tier or quote.credit_applied_cents > self.credit_cents:
            raise Conflict(
                "The extension quote no longer matches the plan; quote again",
                code="extension_quote_stale",
            )
        self._check_taken_today(taken_today)
        owed = self.remaining - taken_today
        value = owed * self.unit_price_cents + quote.records * quote.unit_price_cents
        blended, leftover = divmod(value, owed + quote.records)
        self.unit_price_cents = blended
        self.credit_cents += leftover - quote.credit_applied_cents
        self.remaining += quote.records
        self.records_ordered += quote.records
        if self.status == PlanStatus.COMPLETED:
            # Nothing was due while the plan was completed: those days need no close.
            previous = self.last_closed_date or today - ONE_DAY
            self.last_closed_date = max(previous, today - ONE_DAY)
            self.status = PlanStatus.ACTIVE
        self.start_date = today
        self.delivery_days_total = PLAN_DAYS
        self.blocked_dates = {day for day in self.blocked_dates if day >= today}

    # --------------------------------------------- refunds and force majeure

    def credit_refund(self, today: date) -> None:
        """A refund claim was accepted: one more record is owed.

        A completed plan is reopened from tomorrow with one delivery day, so the
        record is actually delivered rather than owed forever.
        """
        if self.status == PlanStatus.ACTIVE:
            self.remaining += 1
        elif self.status == PlanStatus.COMPLETED:
            self.remaining += 1
            self._reopen(today, delivery_days=1)
        else:
            raise Conflict(f"A {self.status} plan cannot be credited", code="plan_not_refundable")

    def apply_excused_absence(self, days: Iterable[date], today: date) -> ExcusedAbsence:
        """Force majeure approved: the absent days stop counting and their forfeits come back.

        Active plan: the days are blocked (the end moves back by those inside the
        plan) and the forfeited records return to ``remaining``. Completed plan
        with forfeits to restore: it reopens tomorrow with as many delivery days
        as the absence took from it (at least one). Forfeits are removed once
        restored, so overlapping approvals never restore twice.
        """
        if self.status not in (PlanStatus.ACTIVE, PlanStatus.COMPLETED):
            raise Conflict(f"A {self.status} plan cannot be adjusted", code="plan_not_eligible")
        absent = set(days)
        in_plan = {day for day in absent if self.is_delivery_day(day)}
        restored_days = {day for day in absent if day in self.forfeits}
        if self.status == PlanStatus.COMPLETED and not restored_days:
            return ExcusedAbsence(records_restored=0, delivery_days_restored=0, reopened=False)
        restored = sum(self.forfeits.pop(day) for day in sorted(restored_days))
        self.remaining += restored
        if self.status == PlanStatus.ACTIVE:
            self.block_dates(absent)
            return ExcusedAbsence(restored, len(in_plan), reopened=False)
        owed_days = max(1, len(in_plan | restored_days))
        self.block_dates(day for day in absent if day > today)
        self._reopen(today, delivery_days=owed_days)
        return ExcusedAbsence(restored, owed_days, reopened=True)

    def _reopen(self, today: date, delivery_days: int) -> None:
        """Restart a completed plan tomorrow; the days since it completed had nothing due."""
        self.start_date = today + ONE_DAY
        self.delivery_days_total = max(1, delivery_days)
        self.blocked_dates = {day for day in self.blocked_dates if day >= self.start_date}
        self.last_closed_date = today
        self.status = PlanStatus.ACTIVE

    # ------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state (ISO dates, sorted lists) for the persistence layer and RPC."""
        return {
            "id": self.id,
            "user_id": self.user_id,
            "country": self.country,
            "tier": self.tier.value,
            "records_ordered": self.records_ordered,
            "unit_price_cents": self.unit_price_cents,
            "remaining": self.remaining,
            "status": self.status.value,
            "start_date": date_to_plain(self.start_date),
            "activated_on": date_to_plain(self.activated_on),
            "delivery_days_total": self.delivery_days_total,
            "blocked_dates": [day.isoformat() for day in sorted(self.blocked_dates)],
            "forfeits": [[day.isoformat(), count] for day, count in sorted(self.forfeits.items())],
            "credit_cents": self.credit_cents,
            "last_tier_change_on": date_to_plain(self.last_tier_change_on),
            "last_closed_date": date_to_plain(self.last_closed_date),
            "kind": self.kind,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Plan:
        forfeits: dict[date, int] = {}
        for day, count in raw.get("forfeits") or []:
            parsed = date_from_plain(day)
            if parsed is not None:
                forfeits[parsed] = int(count)
        return cls(
            id=str(raw["id"]),
            user_id=str(raw["user_id"]),
            country=str(raw["country"]),
            tier=Tier(raw["tier"]),
            records_ordered=int(raw["records_ordered"]),
            unit_price_cents=int(raw["unit_price_cents"]),
            remaining=int(raw["remaining"]),
            status=PlanStatus(raw["status"]),
            start_date=date_from_plain(raw.get("start_date")),
            activated_on=date_from_plain(raw.get("activated_on")),
            delivery_days_total=int(raw.get("delivery_days_total", PLAN_DAYS)),
            blocked_dates={d for d in map(date_from_plain, raw.get("blocked_dates") or []) if d is not None},
            forfeits=forfeits,
            credit_cents=int(raw.get("credit_cents", 0)),
            last_tier_change_on=date_from_plain(raw.get("last_tier_change_on")),
            last_closed_date=date_from_plain(raw.get("last_closed_date")),
            kind=kind_of(raw),  # state written before kinds: construction
        )
