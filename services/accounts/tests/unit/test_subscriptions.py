"""Subscription prices and period dates."""
from datetime import date

import pytest

from accounts.domain.subscriptions import (
    DEFAULT_PRICES_CENTS,
    Period,
    Span,
    UnknownPeriod,
    add_months_end,
    next_span,
    parse_period,
    price_cents,
    shown,
)


def test_default_prices() -> None:
    assert price_cents(Period.MONTHLY, DEFAULT_PRICES_CENTS) == 2900
    assert price_cents(Period.QUARTERLY, DEFAULT_PRICES_CENTS) == 7900
    assert price_cents(Period.ANNUAL, DEFAULT_PRICES_CENTS) == 29900


def test_configured_prices_apply_and_must_be_positive() -> None:
    assert price_cents(Period.MONTHLY, {"monthly": 3500}) == 3500
    with pytest.raises(ValueError):
        price_cents(Period.MONTHLY, {"monthly": 0})


def test_unknown_period() -> None:
    with pytest.raises(UnknownPeriod):
        parse_period("weekly")
    assert parse_period("annual") is Period.ANNUAL


@pytest.mark.parametrize(("start", "months", "end"), [
    (date(2026, 3, 15), 1, date(2026, 4, 14)),
    (date(2026, 1, 1), 1, date(2026, 1, 31)),
    (date(2026, 1, 31), 1, date(2026, 2, 28)),   # no 31 February: end of February
    (date(2028, 1, 30), 1, date(2028, 2, 29)),   # leap year
    (date(2026, 1, 28), 1, date(2026, 2, 27)),
    (date(2026, 3, 31), 1, date(2026, 4, 30)),
    (date(2026, 11, 30), 3, date(2027, 2, 28)),
    (date(2026, 12, 15), 3, date(2027, 3, 14)),
    (date(2026, 3, 2), 12, date(2027, 3, 1)),
    (date(2028, 2, 29), 12, date(2029, 2, 28)),
])
def test_period_end(start: date, months: int, end: date) -> None:
    assert add_months_end(start, months) == end


def test_a_new_subscription_starts_today() -> None:
    assert next_span(Period.MONTHLY, date(2026, 3, 2), []) == Span(date(2026, 3, 2), date(2026, 4, 1))


def test_a_renewal_starts_the_day_after_the_running_one() -> None:
    span = next_span(Period.QUARTERLY, date(2026, 3, 20), [date(2026, 4, 1)])
    assert span == Span(date(2026, 4, 2), date(2026, 7, 1))


def test_a_renewal_chains_after_every_paid_period() -> None:
    span = next_span(Period.MONTHLY, date(2026, 3, 20), [date(2026, 4, 1), date(2026, 5, 1)])
    assert span.starts_on == date(2026, 5, 2)


class Sub:
    def __init__(self, name: str, status: str, starts_on: date | None = None,
                 ends_on: date | None = None) -> None:
        self.name, self.status, self.starts_on, self.ends_on = name, status, starts_on, ends_on


def test_the_subscription_shown_is_the_running_one_then_the_next_then_the_order() -> None:
    today = date(2026, 11, 30)
    running = Sub("running", "active", date(2026, 11, 1), date(2026, 11, 30))
    later = Sub("later", "active", date(2027, 2, 1), date(2027, 2, 28))
    sooner = Sub("sooner", "active", date(2026, 12, 1), date(2026, 12, 31))
    pending = Sub("pending", "pending_payment")
    expired = Sub("expired", "active", date(2026, 10, 1), date(2026, 10, 31))
    assert shown([pending, later, running, sooner], today) is running
    assert shown([pending, later, sooner], today) is sooner
    assert shown([expired, pending], today) is pending
    assert shown([expired, Sub("ended", "ended", date(2026, 11, 1), date(2026, 12, 31))],
                 today) is None
    assert shown([], today) is None


def test_a_reminder_is_due_in_the_days_before_the_last_day() -> None:
    from accounts.domain.subscriptions import reminder_due

    ends = date(2026, 6, 30)
    assert not reminder_due(ends, date(2026, 6, 22), 7)
    assert reminder_due(ends, date(2026, 6, 23), 7)
    assert reminder_due(ends, ends, 7)
    assert not reminder_due(ends, date(2026, 7, 1), 7)  # over: it expires instead
    assert reminder_due(ends, ends, 0) and not reminder_due(ends, date(2026, 6, 29), 0)


def test_no_reminder_when_a_paid_renewal_follows() -> None:
    from accounts.domain.subscriptions import reminder_due

    ends = date(2026, 6, 30)
    assert not reminder_due(ends, date(2026, 6, 25), 7, [ends, date(2026, 7, 30)])
    assert reminder_due(ends, date(2026, 6, 25), 7, [ends, date(2026, 5, 31)])
