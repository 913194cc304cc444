"""Session token expiry (idle and absolute) with a frozen clock."""
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from accounts.domain import sessions
from accounts.domain.sessions import SessionPolicy, SessionState
from suivi_common import clock

POLICY = SessionPolicy(idle=timedelta(minutes=60), absolute=timedelta(hours=12))
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    clock.freeze(START)
    yield
    clock.reset()


def state_now(last_used: datetime, revoked: datetime | None = None) -> SessionState:
    return sessions.state(clock.now(), last_used, sessions.absolute_expiry(START, POLICY), revoked, POLICY)


def test_fresh_session_is_valid() -> None:
    assert state_now(START) is SessionState.VALID


def test_idle_expiry() -> None:
    clock.advance(timedelta(minutes=59, seconds=59))
    assert state_now(START) is SessionState.VALID
    clock.advance(timedelta(seconds=1))
    assert state_now(START) is SessionState.EXPIRED


def test_activity_keeps_it_alive_until_the_absolute_limit() -> None:
    clock.advance(timedelta(hours=11, minutes=59))
    assert state_now(clock.now() - timedelta(minutes=5)) is SessionState.VALID
    clock.advance(timedelta(minutes=1))
    assert state_now(clock.now()) is SessionState.EXPIRED


def test_revoked_wins() -> None:
    assert state_now(START, revoked=START) is SessionState.REVOKED


def test_touch_at_most_once_a_minute() -> None:
    assert not sessions.needs_touch(START + timedelta(seconds=59), START)
    assert sessions.needs_touch(START + timedelta(seconds=60), START)


def test_tokens_are_random_and_stored_hashed() -> None:
    a, b = sessions.new_token(), sessions.new_token()
    assert a != b and len(a) >= 43
    assert sessions.token_hash(a) != a.encode() and len(sessions.token_hash(a)) == 32


def test_one_time_token_expiry() -> None:
    expires = START + timedelta(hours=72)
    assert not sessions.one_time_token_expired(expires - timedelta(seconds=1), expires)
    assert sessions.one_time_token_expired(expires, expires)
