"""Changing the password, listing and revoking sessions, how long reset links last."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from suivi_common import clock
from suivi_common.errors import Conflict, Forbidden, Invalid, NotFound, RateLimited, Unauthorized

PASSWORD = "violet tractor mango river"
NEW_PASSWORD = "quiet harbour lantern 81"
IP = "203.0.113.5"


def login(h: Any, email: str = "admin@soleil.test", password: str = PASSWORD, ip: str = IP,
          user_agent: str | None = "Firefox/140") -> str:
    return str(h.anon.login(email, password, ip, user_agent)["token"])


def test_a_password_change_revokes_the_other_sessions_and_keeps_the_callers(
        h: Any, network: dict[str, Any]) -> None:
    mine, other = login(h), login(h, user_agent="curl/8")
    result = h.rpc(network["admin"]).change_password(PASSWORD, NEW_PASSWORD, mine, IP)
    assert result == {"revoked_sessions": 1}
    assert h.gateway.authenticate(mine)["user_id"] == network["admin_id"]
    with pytest.raises(Unauthorized) as err:
        h.gateway.authenticate(other)
    assert err.value.code == "token_revoked"
    with pytest.raises(Unauthorized):
        h.anon.login("admin@soleil.test", PASSWORD, IP)
    login(h, password=NEW_PASSWORD)


def test_a_wrong_current_password_changes_nothing_and_is_throttled_like_a_login(
        h: Any, network: dict[str, Any]) -> None:
    mine, other = login(h), login(h)
    before = h.scalar("SELECT password_hash FROM users WHERE id = :i", i=network["admin_id"])
    me = h.rpc(network["admin"])
    clock.freeze(clock.now())  # every attempt at one instant: the waits cannot run out
    for _ in range(5):  # the login throttle's free allowance
        with pytest.raises(Forbidden) as err:
            me.change_password("not my password", NEW_PASSWORD, mine, IP)
        assert err.value.code == "current_password_wrong"
    with pytest.raises(RateLimited) as limited:  # even the right one waits now
        me.change_password(PASSWORD, NEW_PASSWORD, mine, IP)
    assert limited.value.retry_after >= 1
    with pytest.raises(RateLimited):  # the same counters as logins from this address
        h.anon.login("admin@soleil.test", PASSWORD, IP)
    assert h.scalar("SELECT password_hash FROM users WHERE id = :i", i=network["admin_id"]) == before
    h.gateway.authenticate(other)  # nothing revoked
    clock.advance(timedelta(minutes=2))
    me.change_password(PASSWORD, NEW_PASSWORD, mine, IP)


def test_the_new_password_follows_the_policy(h: Any, network: dict[str, Any]) -> None:
    mine, other = login(h), login(h)
    me = h.rpc(network["admin"])
    for bad in ("short", "Alice Martin forever", PASSWORD):
        with pytest.raises(Invalid) as err:
            me.change_password(PASSWORD, bad, mine, IP)
        assert "new_password" in err.value.fields
    h.gateway.authenticate(other)
    login(h)  # still the old password


def test_sessions_list_with_where_they_came_from_encrypted_at_rest(
        h: Any, network: dict[str, Any]) -> None:
    first = login(h, ip="198.51.100.7", user_agent="Firefox/140")
    clock.advance(timedelta(minutes=1))
    second = login(h, ip="203.0.113.9", user_agent="Safari/18")
    listed = h.rpc(network["admin"]).list_sessions(second)
    assert listed["next_cursor"] is None
    assert [(s["ip"], s["user_agent"], s["current"]) for s in listed["items"]] == [
        ("203.0.113.9", "Safari/18", True), ("198.51.100.7", "Firefox/140", False)]
    assert set(listed["items"][0]) == {"id", "created_at", "last_used_at", "expires_at", "ip",
                                       "user_agent", "current"}
    assert first not in str(listed) and second not in str(listed)
    raw = h.scalar("SELECT ip || user_agent FROM sessions ORDER BY created_at LIMIT 1")
    assert b"198.51.100.7" not in bytes(raw) and b"Firefox" not in bytes(raw)
    # paging, and use refreshing last_used_at (at most once a minute)
    page = h.rpc(network["admin"]).list_sessions(second, None, 1)
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = h.rpc(network["admin"]).list_sessions(second, page["next_cursor"], 1)
    assert [s["ip"] for s in rest["items"]] == ["198.51.100.7"]
    clock.advance(timedelta(minutes=2))
    h.gateway.authenticate(first)
    used = {s["ip"]: s["last_used_at"] for s in h.rpc(network["admin"]).list_sessions(second)["items"]}
    assert used["198.51.100.7"] > used["203.0.113.9"]


def test_revoking_one_session_and_all_the_others(h: Any, network: dict[str, Any]) -> None:
    member = h.new_member(network, "bruno@soleil.test")
    theirs = login(h, "bruno@soleil.test")
    mine, second, third = login(h), login(h), login(h)
    me = h.rpc(network["admin"])
    ids = {s["current"]: s["id"] for s in me.list_sessions(mine)["items"]}
    their_id = h.rpc(member).list_sessions(theirs)["items"][0]["id"]
    for bad in (their_id, "not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(NotFound):
            me.revoke_session(bad)
    h.gateway.authenticate(theirs)  # never revoked by someone else
    others = [s["id"] for s in me.list_sessions(mine)["items"] if not s["current"]]
    assert me.revoke_session(others[0]) == {"revoked": 1}
    with pytest.raises(NotFound):  # no longer live
        me.revoke_session(others[0])
    assert len(me.list_sessions(mine)["items"]) == 3 - 1
    assert me.revoke_other_sessions(mine) == {"revoked": 1}
    assert [s["id"] for s in me.list_sessions(mine)["items"]] == [ids[True]]
    for token in (second, third):
        with pytest.raises(Unauthorized):
            h.gateway.authenticate(token)
    h.gateway.authenticate(mine)
    h.gateway.authenticate(theirs)


def test_sessions_need_a_user(h: Any, network: dict[str, Any]) -> None:
    with pytest.raises(Unauthorized):
        h.anon.list_sessions("x")
    with pytest.raises(Unauthorized):
        h.anon.change_password(PASSWORD, NEW_PASSWORD, "x", IP)


def test_a_reset_link_lasts_an_hour_an_invitation_three_days(h: Any, network: dict[str, Any]) -> None:
    clock.advance(timedelta(minutes=2))
    h.anon.request_password_reset("admin@soleil.test")
    reset = h.wait_event("password_reset_requested")
    assert datetime.fromisoformat(reset["expires_at"]) - clock.now() <= timedelta(hours=1)
    token = h.link_token(reset["link_ref"])
    clock.advance(timedelta(minutes=61))
    with pytest.raises(Invalid) as err:
        h.anon.set_password(token, NEW_PASSWORD)
    assert err.value.code == "token_invalid"
    clock.advance(timedelta(minutes=2))
    h.anon.request_password_reset("admin@soleil.test")
    fresh = h.wait_event("password_reset_requested", lambda p: p != reset)
    token = h.link_token(fresh["link_ref"])
    clock.advance(timedelta(minutes=59))
    h.anon.set_password(token, NEW_PASSWORD)
    # an invitation still lasts 72 hours
    invited = h.rpc(network["admin"]).invite_member("chloe@soleil.test", "Chloé", "Petit")
    token = h.invitation_token(invited["id"])
    clock.advance(timedelta(hours=71))
    h.anon.set_password(token, PASSWORD)


def confirm_token(h: Any, link_ref: str) -> str:
    """The token of an email change's link, as the mailer fetches it."""
    link = h.service("mailer").password_link(link_ref)
    assert link["purpose"] == "email_change" and "set_password_url" not in link
    assert link["url"].startswith(f"{h.public_url}/confirm-email?token=")
    return str(link["url"].split("token=", 1)[1])


def test_an_email_changes_only_through_the_link_sent_to_the_new_address(
        h: Any, network: dict[str, Any]) -> None:
    mine, other = login(h), login(h)
    me = h.rpc(network["admin"])
    with pytest.raises(Forbidden) as err:
        me.request_email_change("alice@new.test", "not my password", IP)
    assert err.value.code == "current_password_wrong"
    with pytest.raises(Invalid):
        me.request_email_change("admin@soleil.test", PASSWORD, IP)
    clock.advance(timedelta(minutes=2))  # past the invitation's one-link-a-minute bound
    assert me.request_email_change("Alice@New.test", PASSWORD, IP) == {
        "ok": True, "sent_to": "alice@new.test"}
    asked = h.wait_event("email_change_requested")
    assert asked["email"] == "alice@new.test" and asked["user_id"] == network["admin_id"]
    assert "token" not in str(asked)
    assert me.get_me()["email"] == "admin@soleil.test"  # nothing yet
    raw = h.scalar("SELECT new_email FROM password_tokens WHERE purpose = 'email_change'")
    assert b"alice@new.test" not in bytes(raw)
    token = confirm_token(h, asked["link_ref"])
    with pytest.raises(Invalid):  # an email change's link never sets a password
        h.anon.set_password(token, NEW_PASSWORD)
    assert h.anon.confirm_email_change(token, mine) == {"user_id": network["admin_id"],
                                                         "email": "alice@new.test"}
    assert me.get_me()["email"] == "alice@new.test"
    changed = h.wait_event("email_changed")
    assert changed["email"] == "admin@soleil.test" and changed["user_id"] == network["admin_id"]
    h.gateway.authenticate(mine)
    with pytest.raises(Unauthorized):
        h.gateway.authenticate(other)
    login(h, "alice@new.test")
    with pytest.raises(Unauthorized):
        h.anon.login("admin@soleil.test", PASSWORD, IP)
    with pytest.raises(Invalid) as bad:  # used once
        h.anon.confirm_email_change(token, None)
    assert bad.value.code == "token_invalid"


def test_an_email_change_link_dies_and_a_taken_address_is_not_told(
        h: Any, network: dict[str, Any]) -> None:
    h.new_member(network, "bruno@soleil.test")
    me = h.rpc(network["admin"])
    clock.advance(timedelta(minutes=2))
    # the same answer for an address with an account, and no link is sent
    assert me.request_email_change("bruno@soleil.test", PASSWORD, IP) == {
        "ok": True, "sent_to": "bruno@soleil.test"}
    assert h.events_of("email_change_requested") == []
    me.request_email_change("alice@new.test", PASSWORD, IP)
    token = confirm_token(h, h.wait_event("email_change_requested")["link_ref"])
    clock.advance(timedelta(minutes=61))
    with pytest.raises(Invalid) as err:
        h.anon.confirm_email_change(token, None)
    assert err.value.code == "token_invalid"
    assert me.get_me()["email"] == "admin@soleil.test"
    # a reset link is no email confirmation
    h.anon.request_password_reset("admin@soleil.test")
    reset_token = h.link_token(h.wait_event("password_reset_requested")["link_ref"])
    with pytest.raises(Invalid):
        h.anon.confirm_email_change(reset_token, None)
    # taken between the request and the link: told then, to whoever holds the new mailbox
    clock.advance(timedelta(minutes=2))
    me.request_email_change("late@soleil.test", PASSWORD, IP)
    token = confirm_token(h, h.wait_event(
        "email_change_requested", lambda p: p["email"] == "late@soleil.test")["link_ref"])
    h.rpc(network["admin"]).invite_member("late@soleil.test", "Late", "Comer")
    with pytest.raises(Conflict) as taken:
        h.anon.confirm_email_change(token, None)
    assert taken.value.code == "email_taken"
    assert me.get_me()["email"] == "admin@soleil.test"
