"""Login rate limiting decisions."""
from datetime import UTC, datetime, timedelta

from accounts.domain.login_throttle import Decision, Limit, combine, decide

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ACCOUNT = Limit(5, timedelta(minutes=15))


def ago(seconds: int) -> datetime:
    return NOW - timedelta(seconds=seconds)


def test_four_failures_leave_one_more_attempt() -> None:
    assert decide([ago(s) for s in (10, 20, 30, 40)], NOW, ACCOUNT).allowed


def test_five_recent_failures_lock_until_the_oldest_leaves_the_window() -> None:
    failures = [ago(s) for s in (10, 20, 30, 40, 100)]
    decision = decide(failures, NOW, ACCOUNT)
    assert not decision.allowed
    assert decision.retry_after == 15 * 60 - 100


def test_with_more_failures_than_the_limit_the_right_one_is_awaited() -> None:
    failures = [ago(s) for s in (10, 20, 30, 40, 100, 800)]
    assert decide(failures, NOW, ACCOUNT).retry_after == 15 * 60 - 100


def test_failures_outside_the_window_do_not_count() -> None:
    failures = [ago(s) for s in (10, 20, 30, 40)] + [ago(15 * 60)]
    assert decide(failures, NOW, ACCOUNT).allowed


def test_retry_after_is_at_least_one_second() -> None:
    failures = [ago(s) for s in (1, 2, 3, 4)] + [ago(15 * 60) + timedelta(milliseconds=200)]
    decision = decide(failures, NOW, ACCOUNT)
    assert not decision.allowed and decision.retry_after == 1


def test_combine_refuses_if_any_refuses_and_waits_longest() -> None:
    assert combine(Decision(True), Decision(True)).allowed
    assert combine(Decision(True), Decision(False, 30)) == Decision(False, 30)
    assert combine(Decision(False, 10), Decision(False, 30)).retry_after == 30
