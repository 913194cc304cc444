"""Invitation, password, login, sessions and rate limiting against the real stack."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from suivi_common import clock
from suivi_common.errors import Conflict, Forbidden, Invalid, RateLimited, Unauthorized

PASSWORD = "violet tractor mango river"


def test_network_creation_emits_invitation_without_password(h: Any) -> None:
    staff = h.rpc(h.staff())
    network = staff.create_network("Réseau Soleil", {"email": "Admin@Soleil.test",
                                                      "first_name": "Alice", "last_name": "Martin"})
    assert network["admin"]["email"] == "admin@soleil.test"
    assert network["admin"]["role"] == "admin" and network["admin"]["status"] == "invited"
    created = h.wait_event("network_created")
    assert created == {"network_id": network["id"], "name": "Réseau Soleil",
                       "admin_id": network["admin"]["id"]}
    invited = h.wait_event("user_invited")
    assert invited["user_id"] == network["admin"]["id"]
    assert invited["network_id"] == network["id"]
    assert invited["email"] == "admin@soleil.test" and invited["first_name"] == "Alice"
    assert invited["expires_at"] and invited["link_ref"]
    assert not any("password" in key or "token" in key for key in invited)  # a reference only
    link = h.service("mailer").password_link(invited["link_ref"])
    assert link["set_password_url"].startswith(f"{h.public_url}/set-password?token=")
    assert link["expires_at"] == invited["expires_at"]
    token = link["set_password_url"].split("token=")[1]
    assert token not in str(invited)


def test_only_the_mailer_fetches_a_link_and_every_fetch_gives_the_same_working_link(h: Any) -> None:
    network = h.rpc(h.staff()).create_network("R", {"email": "alice.martin@r.test",
                                                    "first_name": "Alice", "last_name": "Martin"})
    ref = h.wait_event("user_invited")["link_ref"]
    with pytest.raises(Unauthorized):
        h.anon.password_link(ref)
    with pytest.raises(Forbidden):
        h.service("plans").password_link(ref)
    with pytest.raises(Forbidden):
        h.rpc(h.staff()).password_link(ref)
    first = h.link_token(ref)
    assert h.link_token(ref) == first  # a retried send mails the same link
    h.anon.set_password(first, PASSWORD)
    with pytest.raises(Conflict) as err:  # used: nothing left to mail
        h.link_token(ref)
    assert err.value.code == "link_unusable"
    with pytest.raises(Conflict):
        h.link_token("00000000-0000-0000-0000-000000000000")
    assert network


def test_set_password_login_authenticate_logout(h: Any) -> None:
    network = h.new_network()
    login = h.anon.login("ADMIN@soleil.test ", PASSWORD, "203.0.113.5")
    assert login["user"] == {"id": network["admin_id"], "role": "admin", "network_id": network["id"]}
    session = h.gateway.authenticate(login["token"])
    assert session["user_id"] == network["admin_id"] and session["role"] == "admin"
    assert session["network_id"] == network["id"] and session["terms_accepted"] is False
    assert h.scalar("SELECT contract_concluded_at IS NOT NULL FROM users WHERE id = :i",
                    i=network["admin_id"])
    h.anon.logout(login["token"])
    with pytest.raises(Unauthorized) as err:
        h.gateway.authenticate(login["token"])
    assert err.value.code == "token_revoked"
    with pytest.raises(Unauthorized) as err:
        h.gateway.authenticate("not-a-token")
    assert err.value.code == "token_invalid"


def test_set_password_token_is_single_use_and_checks_policy(h: Any) -> None:
    network = h.rpc(h.staff()).create_network("R", {"email": "alice.martin@r.test",
                                                    "first_name": "Alice", "last_name": "Martin"})
    token = h.invitation_token(network["admin"]["id"])
    with pytest.raises(Invalid) as err:
        h.anon.set_password(token, "short")
    assert "password" in err.value.fields
    with pytest.raises(Invalid) as err:
        h.anon.set_password(token, "Alice.Martin forever")
    assert "password" in err.value.fields
    h.anon.set_password(token, PASSWORD)
    with pytest.raises(Invalid) as err:
        h.anon.set_password(token, PASSWORD + " again")
    assert err.value.code == "token_invalid" and "token" in err.value.fields


def test_a_newer_token_voids_the_older_and_reset_never_reveals(h: Any) -> None:
    network = h.new_network()
    first_login = h.anon.login("admin@soleil.test", PASSWORD, "203.0.113.5")
    h.anon.request_password_reset("admin@soleil.test")  # too soon after the invitation email
    assert h.events_of("password_reset_requested") == []
    clock.advance(timedelta(minutes=2))
    h.anon.request_password_reset("admin@soleil.test")
    h.anon.request_password_reset("nobody@nowhere.test")  # same answer: None
    reset = h.wait_event("password_reset_requested")
    assert reset["user_id"] == network["admin_id"]
    assert len(h.events_of("password_reset_requested")) == 1
    clock.advance(timedelta(minutes=2))
    old_token = h.link_token(reset["link_ref"])
    h.anon.request_password_reset("admin@soleil.test")
    second = h.wait_event("password_reset_requested", lambda p: p != reset)
    with pytest.raises(Conflict):  # replaced: the mailer would no longer send it
        h.link_token(reset["link_ref"])
    new_token = h.link_token(second["link_ref"])
    with pytest.raises(Invalid):
        h.anon.set_password(old_token, "another fine passphrase")
    h.anon.set_password(new_token, "another fine passphrase")
    with pytest.raises(Unauthorized) as err:  # setting a password closes the sessions
        h.gateway.authenticate(first_login["token"])
    assert err.value.code == "token_revoked"
    h.anon.login("admin@soleil.test", "another fine passphrase", "203.0.113.5")
    # the reset is told (and audited); the invitation's first password was not
    changed = h.events_of("password_changed")
    assert [(p["user_id"], p["how"]) for p in changed] == [(network["admin_id"], "reset")]
    assert "another fine passphrase" not in str(changed)


def test_unknown_email_wrong_password_and_no_password_look_the_same(h: Any) -> None:
    h.new_network()
    h.rpc(h.staff()).create_network("Other", {"email": "pending@o.test", "first_name": "P",
                                              "last_name": "Q"})
    for email, password in (("nobody@x.test", PASSWORD), ("admin@soleil.test", "wrong wrong wrong"),
                            ("pending@o.test", "anything at all")):
        with pytest.raises(Unauthorized) as err:
            h.anon.login(email, password, "203.0.113.9")
        assert err.value.code == "invalid_credentials"
        assert err.value.message == "Unknown email or wrong password"


ATTACKER, VICTIM = "203.0.113.7", "198.51.100.1"


def attempt(h: Any, email: str, password: str, ip: str) -> int | None:
    """One login attempt: None if it logged in, 0 if refused as wrong, else Retry-After."""
    try:
        h.anon.login(email, password, ip)
    except Unauthorized:
        return 0
    except RateLimited as err:
        return int(err.retry_after)  # crosses RPC as a string (nameko stringifies args)
    return None


def fail_until_delayed(h: Any, email: str, ip: str) -> list[int]:
    """Fail from ``ip`` as fast as allowed, moving the (frozen) clock by each Retry-After;
    returns the Retry-After values seen."""
    waits: list[int] = []
    while len(waits) < 8:
        outcome = attempt(h, email, "wrong wrong wrong", ip)
        assert outcome is not None
        if outcome:
            waits.append(outcome)
            clock.advance(timedelta(seconds=outcome))
    return waits


def test_an_attackers_failures_delay_the_attacker_and_never_lock_the_victim_out(h: Any) -> None:
    clock.freeze(clock.now())
    h.new_network()
    waits = fail_until_delayed(h, "admin@soleil.test", ATTACKER)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]  # growing, capped, never a lock
    # the account is under attack this very second: its owner still logs in at once
    assert attempt(h, "admin@soleil.test", PASSWORD, VICTIM) is None


def test_a_mistype_under_attack_waits_at_most_the_cap_counted_from_it(h: Any) -> None:
    clock.freeze(clock.now())
    h.new_network()
    fail_until_delayed(h, "admin@soleil.test", ATTACKER)
    assert attempt(h, "admin@soleil.test", "typo typo typo", VICTIM) == 0
    wait = attempt(h, "admin@soleil.test", PASSWORD, VICTIM)
    assert wait is not None and 1 <= wait <= 60
    clock.advance(timedelta(seconds=wait))
    for _ in range(5):  # the attacker goes on: it does not push the victim's turn back
        attempt(h, "admin@soleil.test", "wrong wrong wrong", ATTACKER)
    assert attempt(h, "admin@soleil.test", PASSWORD, VICTIM) is None


def test_unknown_emails_are_throttled_exactly_like_known_ones(h: Any) -> None:
    clock.freeze(clock.now())
    h.new_network()
    assert (fail_until_delayed(h, "ghost@x.test", "203.0.113.8")
            == fail_until_delayed(h, "admin@soleil.test", "203.0.113.9"))


def test_spraying_from_one_address_is_delayed_for_that_address_only(h: Any) -> None:
    clock.freeze(clock.now())
    h.new_network()
    for i in range(30):
        assert attempt(h, f"spray{i}@x.test", "whatever whatever", "203.0.113.66") == 0
    assert attempt(h, "admin@soleil.test", PASSWORD, "203.0.113.66") == 1
    assert attempt(h, "admin@soleil.test", PASSWORD, "203.0.113.67") is None
    clock.advance(timedelta(seconds=1))
    assert attempt(h, "admin@soleil.test", PASSWORD, "203.0.113.66") is None


def test_success_resets_the_account_counter(h: Any) -> None:
    clock.freeze(clock.now())
    h.new_network()
    for _ in range(2):
        for _ in range(5):
            assert attempt(h, "admin@soleil.test", "wrong wrong wrong", "203.0.113.7") == 0
        clock.advance(timedelta(seconds=1))
        assert attempt(h, "admin@soleil.test", PASSWORD, "203.0.113.7") is None
    # consecutive failures only: after the success the next mistypes are free again
    assert attempt(h, "admin@soleil.test", "wrong wrong wrong", "203.0.113.7") == 0
    assert attempt(h, "admin@soleil.test", "wrong wrong wrong", "203.0.113.7") == 0


def test_session_idle_and_absolute_expiry(h: Any) -> None:
    h.new_network()
    token = h.anon.login("admin@soleil.test", PASSWORD, "203.0.113.5")["token"]
    clock.advance(timedelta(minutes=59))
    h.gateway.authenticate(token)  # touches last_used
    clock.advance(timedelta(minutes=59))
    h.gateway.authenticate(token)
    clock.advance(timedelta(minutes=61))
    with pytest.raises(Unauthorized) as err:
        h.gateway.authenticate(token)
    assert err.value.code == "token_expired"
    token = h.anon.login("admin@soleil.test", PASSWORD, "203.0.113.5")["token"]
    for _ in range(14):
        clock.advance(timedelta(minutes=55))
        try:
            h.gateway.authenticate(token)
        except Unauthorized as exc:
            assert exc.code == "token_expired"
            break
    else:
        pytest.fail("a session outlived its absolute lifetime")
    assert clock.now() - h.scalar("SELECT created_at FROM sessions ORDER BY created_at DESC LIMIT 1") \
        >= timedelta(hours=12)


def test_staff_find_an_account_by_its_exact_email_or_its_id(h: Any) -> None:
    network = h.new_network()
    staff = h.rpc(h.staff())
    found = staff.find_users("  Admin@Soleil.test ")["items"]
    assert [(u["id"], u["email"], u["role"], u["status"]) for u in found] == [
        (network["admin_id"], "admin@soleil.test", "admin", "active")]
    assert found[0]["network_id"] == network["id"] and found[0]["created_at"]
    assert staff.find_users(network["admin_id"])["items"][0]["email"] == "admin@soleil.test"
    for nothing in ("admin@soleil", "soleil.test", "nobody@soleil.test", "", "not-an-id"):
        assert staff.find_users(nothing)["items"] == []
    with pytest.raises(Forbidden):
        h.rpc(network["admin"]).find_users("admin@soleil.test")


def test_suspended_and_closed_accounts_cannot_log_in(h: Any) -> None:
    network = h.new_network()
    token = h.anon.login("admin@soleil.test", PASSWORD, "203.0.113.5")["token"]
    staff = h.rpc(h.staff())
    assert staff.suspend_user(network["admin_id"])["status"] == "suspended"
    with pytest.raises(Unauthorized):
        h.gateway.authenticate(token)
    with pytest.raises(Forbidden) as err:
        h.anon.login("admin@soleil.test", PASSWORD, "203.0.113.5")
    assert err.value.code == "account_suspended"
    staff.reactivate_user(network["admin_id"])
    h.anon.login("admin@soleil.test", PASSWORD, "203.0.113.5")
    staff.close_user(network["admin_id"])
    with pytest.raises(Forbidden) as err:
        h.anon.login("admin@soleil.test", PASSWORD, "203.0.113.5")
    assert err.value.code == "account_closed"


def test_bootstrap_staff_can_log_in_and_is_exempt_from_terms(h: Any) -> None:
    login = h.anon.login("staff@suivi.test", "staff-bootstrap-pass-2026", "203.0.113.5")
    assert login["user"]["role"] == "staff" and login["user"]["network_id"] is None
    assert h.gateway.authenticate(login["token"])["terms_accepted"] is True
    assert h.scalar("SELECT count(*) FROM users WHERE role = 'staff'") == 1


def test_emails_are_encrypted_at_rest(h: Any) -> None:
    h.new_network()
    h.execute("UPDATE users SET phone = NULL")  # nothing to hide there
    for email, first_name, index in h.rows("SELECT email, first_name, email_index FROM users"):
        assert b"soleil" not in bytes(email) and b"suivi" not in bytes(email)
        assert first_name is None or b"Alice" not in bytes(first_name)
        assert len(bytes(index)) == 32
