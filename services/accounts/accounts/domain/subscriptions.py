"""Office subscriptions (terms art. 3.A, 6, 10): monthly, quarterly or annual.

* The price is the one in force when the order is placed and is locked on it
  (art. 6: "facturés au tarif en vigueur au moment de la validation de la commande").
* Nothing is active before its payment is validated (art. 6). A validated
  subscription starts today (Paris), or, when the user already holds an active one,
  the day after the last one ends: renewing early never loses paid days.
* A period of n months ends the day before the same day of the month n months
  later; when that day does not exist, it ends on the last day of that month
  (the civil rule for periods counted in months, CPC art. 641). So 31 January
  monthly ends 28/29 February, 15 March monthly ends 14 April.
* A subscription whose ``ends_on`` is before today expires; the office closes unless
  a following subscription has started (art. 3.A: non-renewal closes the office).
* A reminder (``subscription_ending_soon``) goes out once per subscription, from
  ``SUBSCRIPTION_REMINDER_DAYS`` before its last day until that day, unless a paid
  renewal already follows it (nothing will close) or the user objected to it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol, TypeVar

from suivi_common.months import add_months


class Period(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"

    @property
    def months(self) -> int:
        return {"monthly": 1, "quarterly": 3, "annual": 12}[self.value]


class Status(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    ACTIVE = "active"          # paid; may start in the future (a renewal)
    EXPIRED = "expired"        # ran to its end
    WITHDRAWN = "withdrawn"    # withdrawal right used (art. 6), refunded
    CANCELLED = "cancelled"    # never paid, cancelled by the user or with the account
    ENDED = "ended"            # cut short: account terminated (art. 10.B) or closed (art. 10.A)


#: the statuses ``shown`` chooses among
OPEN_STATUSES = (Status.ACTIVE.value, Status.PENDING_PAYMENT.value)


class EndReason(StrEnum):
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    TERMINATED = "terminated"
    CLOSED = "closed"
    ERASED = "erased"          # the account erased at the user's request (GDPR art. 17)


DEFAULT_PRICES_CENTS: dict[str, int] = {"monthly": 2900, "quarterly": 7900, "annual": 29900}

#: the default prices per office kind covered (issue 13 §1); construction's are the prices
#: sold before kinds, both offices cost less than the two apart
DEFAULT_PRICES_BY_KIND: dict[str, dict[str, int]] = {
    "construction": DEFAULT_PRICES_CENTS,
    "distribution": DEFAULT_PRICES_CENTS,
    "both": {"monthly": 4900, "quarterly": 13900, "annual": 49900},
}


class UnknownPeriod(ValueError):
    pass


def parse_period(value: object) -> Period:
    try:
        return Period(value if isinstance(value, str) else "")
    except ValueError:
        raise UnknownPeriod(f"period must be one of {', '.join(p.value for p in Period)}") from None


def price_cents(period: Period, prices: Mapping[str, int]) -> int:
    """The price in force for ``period``; a missing or non-positive price is a config error."""
    price = int(prices[period.value])
    if price <= 0:
        raise ValueError(f"the price of {period.value} must be positive")
    return price


def add_months_end(start: date, months: int) -> date:
    """Last day of a period of ``months`` months starting on ``start`` (see module doc):
    the day before the same day ``months`` later, or that month's last day when the day
    does not exist there (``add_months`` clamped it)."""
    later = add_months(start, months)
    return later if later.day < start.day else later - timedelta(days=1)


@dataclass(frozen=True)
class Span:
    starts_on: date
    ends_on: date

def next_span(period: Period, today: date, active_ends: Iterable[date]) -> Span:
    """Dates of a subscription validated ``today``, after any paid one still running."""
    start = today
    for end in active_ends:
        if end >= start:
            start = end + timedelta(days=1)
    return Span(start, add_months_end(start, period.months))


class Shown(Protocol):
    status: str
    starts_on: date | None
    ends_on: date | None


S = TypeVar("S", bound=Shown)


def shown(rows: Iterable[S], today: date) -> S | None:
    """The subscription a member sees on their account: the one running today, else the
    next paid one to come, else an order awaiting payment. Expired ones never show."""
    running: list[S] = []
    coming: list[S] = []
    pending: list[S] = []
    for row in rows:
        if row.status == Status.ACTIVE and row.starts_on and row.ends_on:
            if row.starts_on <= today <= row.ends_on:
                running.append(row)
            elif row.starts_on > today:
                coming.append(row)
        elif row.status == Status.PENDING_PAYMENT:
            pending.append(row)
    coming.sort(key=lambda r: r.starts_on or today)
    for found in (running, coming, pending):
        if found:
            return found[0]
    return None


def reminder_due(ends_on: date, today: date, days_before: int,
                 following_ends: Iterable[date] = ()) -> bool:
    """Whether a running subscription ending ``ends_on`` is to be reminded today: within
    ``days_before`` days of its last day (that day included), and no paid subscription
    ends after it (a renewal keeps the office open; nothing to remind)."""
    if not today <= ends_on <= today + timedelta(days=days_before):
        return False
    return not any(end > ends_on for end in following_ends)
