"""The login throttling rule: growing delays per address and per account, never a lock."""
from datetime import UTC, datetime, timedelta

from accounts.domain.login_throttle import (
    ALLOWED,
    Decision,
    Limit,
    combine,
    decide,
    decide_attempt,
    delay,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=60)
ACCOUNT = Limit(5, WINDOW, timedelta(seconds=60))
ADDRESS = Limit(30, WINDOW, timedelta(seconds=60))


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def test_the_delay_doubles_from_one_second_to_the_cap() -> None:
    assert [delay(n, ACCOUNT).total_seconds() for n in range(4, 14)] == [
        0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert delay(10**6, ACCOUNT) == timedelta(seconds=60)  # no overflow, still the cap


def test_free_failures_cost_nothing() -> None:
    assert decide([ago(1)] * 4, NOW, ACCOUNT) == ALLOWED


def test_past_the_allowance_the_wait_runs_from_the_latest_failure() -> None:
    failures = [ago(s) for s in (3, 20, 30, 40, 50, 60)]  # 6 failures: 2 s after the latest
    assert delay(6, ACCOUNT) == timedelta(seconds=2)
    assert decide(failures, NOW - timedelta(seconds=2), ACCOUNT) == Decision(False, 1)
    assert decide(failures, NOW, ACCOUNT) == ALLOWED  # 3 s since the latest


def test_retry_after_is_whole_seconds_rounded_up_and_at_least_one() -> None:
    failures = [ago(0.2)] * 5 + [ago(50)]  # 6 failures, latest 0.2 s ago: 1.8 s left
    assert decide(failures, NOW, ACCOUNT) == Decision(False, 2)
    assert decide([ago(0.99)] * 5, NOW, ACCOUNT) == Decision(False, 1)


def test_failures_outside_the_window_do_not_count() -> None:
    old = [ago(WINDOW.total_seconds() + s) for s in range(100)]
    assert decide(old + [ago(1)] * 4, NOW, ACCOUNT) == ALLOWED


def test_never_a_lock_the_wait_is_capped_whatever_the_count() -> None:
    hammering = [ago(0.5)] * 1000
    decision = decide(hammering, NOW, ACCOUNT)
    assert not decision.allowed and decision.retry_after == 60
    assert decide(hammering, NOW + timedelta(seconds=60), ACCOUNT) == ALLOWED


def test_another_address_never_holds_back_a_first_attempt_on_the_account() -> None:
    attacker = [ago(0.5)] * 200  # the account's failures, all from elsewhere
    assert decide_attempt([], attacker, [], NOW, ADDRESS, ACCOUNT) == ALLOWED


def test_after_its_own_failure_an_address_waits_what_the_account_asks_counted_from_it() -> None:
    account = [ago(0.5)] * 200 + [ago(30)]  # hammered from elsewhere; one mistype here
    mine = [ago(30)]
    assert decide_attempt(mine, account, mine, NOW, ADDRESS, ACCOUNT) == Decision(False, 30)
    # the attacker's later failures do not push that back: 60 s after my own, I may try
    later = NOW + timedelta(seconds=30)
    account += [later - timedelta(seconds=0.1)] * 50
    assert decide_attempt(mine, account, mine, later, ADDRESS, ACCOUNT) == ALLOWED


def test_the_address_key_throttles_spraying_over_many_accounts() -> None:
    sprayed = [ago(1)] * 31  # 31 failures on 31 different accounts
    decision = decide_attempt(sprayed, [], [], NOW, ADDRESS, ACCOUNT)
    assert decision == Decision(False, 1)  # 2 s after the latest
    assert decide_attempt([ago(1)] * 29, [], [], NOW, ADDRESS, ACCOUNT) == ALLOWED


def test_one_address_guessing_one_account_is_slowed_to_about_one_a_minute() -> None:
    """Play an attacker who retries the moment Retry-After allows, for an hour."""
    failures: list[datetime] = []
    now = NOW
    while now < NOW + timedelta(hours=1):
        decision = decide_attempt(failures, failures, failures, now, ADDRESS, ACCOUNT)
        if decision.allowed:
            failures.append(now)
            now += timedelta(milliseconds=10)
        else:
            assert 1 <= decision.retry_after <= 60
            now += timedelta(seconds=decision.retry_after)
    assert 60 <= len(failures) <= 75


def test_combine_refuses_if_any_refuses_and_waits_longest() -> None:
    assert combine(Decision(True), Decision(True)).allowed
    assert combine(Decision(True), Decision(False, 30)) == Decision(False, 30)
    assert combine(Decision(False, 10), Decision(False, 30)).retry_after == 30
