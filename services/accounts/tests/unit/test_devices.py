"""What a session remembers of its login, which sessions are live, how long links last."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from accounts.domain import devices
from accounts.domain.networks import invitation_conflict_told
from accounts.domain.sessions import SessionPolicy, link_ttl

NOW = datetime(2026, 6, 10, 8, tzinfo=UTC)
POLICY = SessionPolicy(idle=timedelta(minutes=60), absolute=timedelta(hours=12))


def test_the_address_is_bounded_and_unknown_is_none() -> None:
    assert devices.clean_ip(" 203.0.113.5 ") == "203.0.113.5"
    assert devices.clean_ip("unknown") is None
    assert devices.clean_ip("") is None and devices.clean_ip(None) is None
    assert len(devices.clean_ip("1" * 500) or "") == devices.MAX_IP_LENGTH


def test_the_user_agent_loses_control_characters_and_is_bounded() -> None:
    assert devices.clean_user_agent("Mozilla/5.0\x00\x1b[31m (X11)\n") == "Mozilla/5.0[31m (X11)"
    assert devices.clean_user_agent("\x00\x01") is None
    assert devices.clean_user_agent(42) is None
    assert len(devices.clean_user_agent("a" * 5000) or "") == devices.MAX_USER_AGENT_LENGTH


def test_a_session_is_live_until_revoked_idle_or_past_its_life() -> None:
    expires = NOW + timedelta(hours=12)
    assert devices.is_live(NOW, NOW, expires, None, POLICY)
    assert not devices.is_live(NOW, NOW, expires, NOW, POLICY)
    assert not devices.is_live(NOW + timedelta(minutes=60), NOW, expires, None, POLICY)
    assert not devices.is_live(expires, expires - timedelta(minutes=1), expires, None, POLICY)


def test_a_reset_link_is_short_an_invitation_long() -> None:
    assert link_ttl(True, timedelta(hours=72), timedelta(hours=1)) == timedelta(hours=1)
    assert link_ttl(False, timedelta(hours=72), timedelta(hours=1)) == timedelta(hours=72)


def test_an_invitation_tells_a_taken_address_only_inside_the_admins_network() -> None:
    assert invitation_conflict_told("net-a", "net-a")
    assert not invitation_conflict_told("net-b", "net-a")
    assert not invitation_conflict_told(None, "net-a")  # staff
