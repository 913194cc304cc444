"""The account retention rule (``domain.retention``): twelve months to the day on the
Paris calendar, month ends, the day boundary, what ends a relationship, who is kept."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from accounts.domain import retention as rules
from accounts.domain.retention import Account, Kept
from suivi_common.clock import PARIS
from suivi_common.months import due_on, due_through

TODAY = date(2027, 7, 10)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def due(end: datetime, today: date, months: int = 12) -> bool:
    """Whether an account that ended at ``end`` (nothing else keeping it) goes today."""
    return rules.kept_because(Account("user", "active", end), today, months) is None


def test_twelve_months_to_the_day() -> None:
    end = paris(2026, 7, 10, 9)
    assert not due(end, date(2027, 7, 9))
    assert due(end, date(2027, 7, 10))
    assert due(end, date(2027, 7, 11))  # a missed day is caught up
    assert due_on(date(2026, 7, 10), 12) == date(2027, 7, 10)


def test_the_paris_day_counts_not_the_utc_one() -> None:
    # 23:30 UTC on 9 July is 01:30 on 10 July in Paris (summer time): a 10 July end
    late = datetime(2026, 7, 9, 23, 30, tzinfo=UTC)
    assert rules.paris_day(late) == date(2026, 7, 10)
    assert not due(late, date(2027, 7, 9))
    assert due(late, date(2027, 7, 10))
    # the last instant of 9 July in Paris is a 9 July end; the first of 10 July is not
    assert due(paris(2026, 7, 9, 23, 59, 59), date(2027, 7, 9))
    assert not due(paris(2026, 7, 10, 0, 0), date(2027, 7, 9))
    # winter: Paris is UTC+1
    assert rules.paris_day(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == date(2027, 1, 1)


def test_the_cutoff_instant_is_the_paris_midnight_after_the_last_due_day() -> None:
    before = rules.ended_before(TODAY, 12)
    assert before == paris(2026, 7, 11)
    assert before.astimezone(UTC) == datetime(2026, 7, 10, 22, 0, tzinfo=UTC)
    for end in (paris(2026, 7, 10, 23, 59), paris(2026, 7, 11), paris(2025, 1, 1)):
        assert (end < before) == due(end, TODAY)


@pytest.mark.parametrize(("end_day", "due_day"), [
    (date(2024, 2, 29), date(2025, 2, 28)),    # leap day: the month's last day
    (date(2026, 3, 31), date(2027, 3, 31)),
    (date(2026, 1, 31), date(2027, 1, 31)),
    (date(2026, 12, 31), date(2027, 12, 31)),  # across the year end
])
def test_month_ends_with_twelve_months(end_day: date, due_day: date) -> None:
    assert due_on(end_day, 12) == due_day
    end = paris(end_day.year, end_day.month, end_day.day, 12)
    assert not due(end, due_day - timedelta(days=1))
    assert due(end, due_day)


def test_a_short_month_takes_every_later_end_on_its_last_day() -> None:
    # with a term of one month (a setting), 29, 30 and 31 January all fall due on
    # 28 February: on that day each of them goes, not only the 28th's
    assert due_through(date(2027, 2, 28), 1) == date(2027, 1, 31)
    assert due_through(date(2027, 2, 27), 1) == date(2027, 1, 27)
    for day in (28, 29, 30, 31):
        assert due(paris(2027, 1, day, 12), date(2027, 2, 28), months=1)
    assert not due(paris(2027, 1, 28, 12), date(2027, 2, 27), months=1)
    # and the leap year's 29 February ends on 28 February of the next year
    assert due_through(date(2025, 2, 28), 12) == date(2024, 2, 29)
    assert due_through(date(2025, 3, 1), 12) == date(2024, 3, 1)


def test_due_through_is_the_inverse_of_due_on_day_by_day() -> None:
    today = date(2026, 1, 1)
    while today < date(2028, 1, 1):
        last = due_through(today, 12)
        assert due_on(last, 12) <= today
        assert due_on(last + timedelta(days=1), 12) > today
        today += timedelta(days=1)


def test_a_term_is_at_least_a_month() -> None:
    with pytest.raises(ValueError):
        due_through(TODAY, 0)


def test_what_ends_a_relationship() -> None:
    office_end, changed = paris(2026, 7, 10, 0, 1), paris(2026, 3, 1, 9)
    # an open account whose last paid subscription ended: that end
    assert rules.account_end("active", office_end, changed) == office_end
    # an account reactivated by staff after its office closed: the reactivation
    later = paris(2026, 9, 1, 9)
    assert rules.account_end("active", office_end, later) == later
    # an account terminated or closed: its end, with or without a subscription
    assert rules.account_end("terminated", None, changed) == changed
    assert rules.account_end("closed", office_end, later) == later
    # never paid and still open: no end, and so never due
    assert rules.account_end("active", None, changed) is None
    assert rules.account_end("invited", None, None) is None
    assert rules.kept_because(Account("user", "active", None), TODAY, 12) is Kept.NOT_ENDED


def test_who_is_kept_although_due() -> None:
    end = paris(2026, 1, 5, 10)

    def kept(**facts: object) -> Kept | None:
        base: dict[str, object] = {"role": "user", "status": "active", "ended_at": end}
        base.update(facts)
        return rules.kept_because(Account(**base), TODAY, 12)  # type: ignore[arg-type]

    assert kept() is None
    assert kept(role="staff") is Kept.NOT_A_MEMBER
    assert kept(role="compliance") is Kept.NOT_A_MEMBER
    assert kept(erased=True) is Kept.ERASED
    assert kept(open_subscription=True) is Kept.NOT_ENDED  # re-subscribed, or ordering
    assert kept(ended_at=paris(2026, 7, 11, 0, 0)) is Kept.NOT_DUE
    assert kept(pending_payment=True) is Kept.ORDER_PENDING
    assert kept(refund_due=True) is Kept.REFUND_DUE
    assert kept(status="suspended") is Kept.SUSPENDED
    assert kept(plan_running=True) is Kept.PLAN_RUNNING
    # an admin still running a network with members stays; one who left does not
    assert kept(role="admin", administers_members=True) is Kept.ADMINISTERS_NETWORK
    assert kept(role="admin", administers_members=False) is None
    assert kept(role="admin", status="terminated", administers_members=True) is None
    # terminated and closed accounts go like the others
    assert kept(status="terminated") is None and kept(status="closed") is None
    # an account not yet due is not due, whatever else holds
    assert kept(ended_at=paris(2027, 1, 1, 10), pending_payment=True) is Kept.NOT_DUE
