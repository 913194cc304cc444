"""Fixed windows of the capture rate limits (leads.domain.rate_limits)."""
from datetime import UTC, datetime, timedelta

from leads.domain.rate_limits import over_limit, window_of


def test_a_window_is_aligned_on_the_epoch_and_says_when_it_ends() -> None:
    now = datetime(2026, 3, 1, 10, 0, 42, 500_000, tzinfo=UTC)
    window = window_of(now, 60)
    assert window.start == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert window.end == window.start + timedelta(minutes=1)
    assert window.retry_after(now) == 18  # 17.5 s, rounded up
    assert window.retry_after(window.end - timedelta(microseconds=1)) == 1
    assert window_of(window.end, 60).start == window.end  # the next one
    assert window_of(now, 0).end - window_of(now, 0).start == timedelta(seconds=1)


def test_over_the_limit_and_a_limit_of_zero_is_off() -> None:
    assert not over_limit(3, 3) and over_limit(4, 3)
    assert not over_limit(10_000, 0)
