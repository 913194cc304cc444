"""The second factor against the real stack: enrolment, the two-step login, recovery
codes, the replay refusal, the throttle and who must enrol (issue 14 §1)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import eventlet
import pyotp
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from accounts.usecases import auth
from suivi_common import clock
from suivi_common.errors import Conflict, Invalid, RateLimited, Unauthorized
from suivi_common.testing.waiting import wait_for

PASSWORD = "violet tractor mango river"
IP = "203.0.113.5"


def code(secret: str, shift: int = 0) -> str:
    """What the authenticator app shows now (``shift`` steps later)."""
    return pyotp.TOTP(secret).at(clock.now() + timedelta(seconds=30 * shift))


def new_staff(h: Any, email: str = "ops@suivi.test", role: str = "staff") -> dict[str, Any]:
    created = h.rpc(h.staff()).create_staff(email, PASSWORD, role)
    return {"user_id": created["id"], "role": role, "email": email}


def enrol(h: Any, who: dict[str, Any]) -> tuple[str, list[str]]:
    started = h.rpc(who).start_mfa_enrolment()
    confirmed = h.rpc(who).confirm_mfa_enrolment(code(started["secret"]))
    return started["secret"], confirmed["recovery_codes"]


def challenge(h: Any, email: str) -> str:
    answer = h.anon.login(email, PASSWORD, IP)
    assert answer["mfa_required"] is True and "token" not in answer
    return str(answer["challenge"])


def test_enrolment_stores_the_secret_encrypted_and_the_recovery_codes_hashed(h: Any) -> None:
    clock.freeze(clock.now())
    staff = new_staff(h)
    started = h.rpc(staff).start_mfa_enrolment()
    secret = started["secret"]
    assert started["otpauth_uri"].startswith("otpauth://totp/Suivi:ops%40suivi.test?")
    assert f"secret={secret}" in started["otpauth_uri"]
    assert started["qr_svg"].startswith("<svg") and "</svg>" in started["qr_svg"]
    stored = h.scalar("SELECT secret FROM mfa_factors WHERE user_id = :u", u=staff["user_id"])
    assert secret.encode() not in bytes(stored)
    # pending: a login still needs no code, and the account still may only enrol
    assert "token" in h.anon.login(staff["email"], PASSWORD, IP)
    with pytest.raises(Invalid) as err:
        h.rpc(staff).confirm_mfa_enrolment("000000" if code(secret) != "000000" else "111111")
    assert err.value.code == "mfa_code_invalid"
    confirmed = h.rpc(staff).confirm_mfa_enrolment(code(secret))
    codes = confirmed["recovery_codes"]
    assert confirmed["active"] is True and len(set(codes)) == 10
    hashes = [bytes(r[0]) for r in h.rows(
        "SELECT code_hash FROM mfa_recovery_codes WHERE user_id = :u", u=staff["user_id"])]
    assert len(hashes) == 10 and not any(c.encode() in b for c in codes for b in hashes)
    with pytest.raises(Conflict) as conflict:  # one factor; nothing to confirm again
        h.rpc(staff).start_mfa_enrolment()
    assert conflict.value.code == "mfa_already_enrolled"
    with pytest.raises(Conflict):
        h.rpc(staff).confirm_mfa_enrolment(code(secret))


def test_two_step_login_and_the_code_cannot_be_replayed(h: Any) -> None:
    clock.freeze(clock.now())
    staff = new_staff(h)
    secret, _ = enrol(h, staff)
    # the confirmation used this step's code: it logs in nobody now
    first = challenge(h, staff["email"])
    with pytest.raises(Unauthorized) as err:
        h.anon.login_mfa(first, code(secret), IP)
    assert err.value.code == "mfa_code_invalid"
    clock.advance(timedelta(seconds=30))
    answer = h.anon.login_mfa(first, code(secret), IP)
    assert answer["user"] == {"id": staff["user_id"], "role": "staff", "network_id": None}
    assert h.gateway.authenticate(answer["token"])["mfa_enrolment_required"] is False
    with pytest.raises(Unauthorized) as err:  # the challenge is single-use
        h.anon.login_mfa(first, code(secret, 1), IP)
    assert err.value.code == "mfa_challenge_invalid"
    second = challenge(h, staff["email"])
    with pytest.raises(Unauthorized) as err:  # the same code, still in its window
        h.anon.login_mfa(second, code(secret), IP)
    assert err.value.code == "mfa_code_invalid"
    assert "token" in h.anon.login_mfa(second, code(secret, 1), IP)  # the next step's is fine


def test_a_challenge_expires(h: Any) -> None:
    clock.freeze(clock.now())
    staff = new_staff(h)
    secret, _ = enrol(h, staff)
    pending = challenge(h, staff["email"])
    clock.advance(timedelta(minutes=5, seconds=1))
    with pytest.raises(Unauthorized) as err:
        h.anon.login_mfa(pending, code(secret), IP)
    assert err.value.code == "mfa_challenge_invalid"
    with pytest.raises(Unauthorized):
        h.anon.login_mfa("not-a-challenge-at-all", code(secret), IP)
    left = "SELECT count(*) FROM mfa_challenges WHERE user_id = :u"
    assert h.scalar(left, u=staff["user_id"]) == 1  # the abandoned one stays until...
    with Session(h.engine) as session, session.begin():  # ...the timer's purge
        auth.purge_old_failures(h.direct_ctx(session))
    assert h.scalar(left, u=staff["user_id"]) == 0
    assert "token" in h.anon.login_mfa(challenge(h, staff["email"]), code(secret, 1), IP)


def test_a_recovery_code_works_once_in_place_of_a_code(h: Any) -> None:
    clock.freeze(clock.now())
    staff = new_staff(h, "audit@suivi.test", "compliance")
    _, codes = enrol(h, staff)
    answer = h.anon.login_mfa(challenge(h, staff["email"]), codes[3].upper(), IP)
    assert answer["user"]["role"] == "compliance"
    with pytest.raises(Unauthorized) as err:
        h.anon.login_mfa(challenge(h, staff["email"]), codes[3], IP)
    assert err.value.code == "mfa_code_invalid"
    assert "token" in h.anon.login_mfa(challenge(h, staff["email"]), codes[4], IP)
    assert h.scalar("SELECT count(*) FROM mfa_recovery_codes WHERE used_at IS NOT NULL") == 2


def test_wrong_codes_are_throttled_like_passwords_and_a_password_does_not_reset_it(h: Any) -> None:
    clock.freeze(clock.now())
    staff = new_staff(h)
    secret, _ = enrol(h, staff)
    clock.advance(timedelta(seconds=30))
    good = code(secret)
    wrong = "000000" if good != "000000" else "111111"
    refused = 0
    with pytest.raises(RateLimited) as limited:
        while refused < 50:
            # a fresh challenge each time: the password is right, the count goes on
            pending = challenge(h, staff["email"])
            with pytest.raises(Unauthorized):
                h.anon.login_mfa(pending, wrong, IP)
            refused += 1
    assert refused == 5  # LOGIN_MAX_ACCOUNT_FAILURES
    # the right code too is held back until the delay has passed
    with pytest.raises(RateLimited):
        h.anon.login_mfa(pending, good, IP)
    clock.advance(timedelta(seconds=int(limited.value.retry_after)))
    assert "token" in h.anon.login_mfa(challenge(h, staff["email"]), code(secret), IP)


def test_staff_and_compliance_without_a_factor_may_only_enrol_admins_need_none(
        h: Any, network: dict[str, Any]) -> None:
    clock.freeze(clock.now())
    staff = new_staff(h)
    login = h.anon.login(staff["email"], PASSWORD, IP)
    assert login["mfa_enrolment_required"] is True  # SUIVI_ENV=test: no dev exemption
    assert h.gateway.authenticate(login["token"])["mfa_enrolment_required"] is True
    enrol(h, staff)
    assert h.gateway.authenticate(login["token"])["mfa_enrolment_required"] is False
    admin = h.anon.login(network["email"], PASSWORD, IP)
    assert "mfa_enrolment_required" not in admin and "mfa_exempt" not in admin
    assert h.gateway.authenticate(admin["token"])["mfa_enrolment_required"] is False
    # an admin may enrol too, and then logs in in two steps
    secret, _ = enrol(h, network["admin"])
    clock.advance(timedelta(seconds=30))
    pending = challenge(h, network["email"])
    assert h.anon.login_mfa(pending, code(secret), IP)["user"]["role"] == "admin"
    bootstrap = h.anon.login("staff@suivi.test", "staff-bootstrap-pass-2026", IP)
    assert bootstrap["mfa_enrolment_required"] is True and "mfa_exempt" not in bootstrap


def test_one_code_sent_twice_at_once_logs_in_once(h: Any) -> None:
    """Two second steps with the same code race: both wait behind the factor's row (held
    here), then the account's lock lets one at a time in; the second finds the code's
    time step used."""
    clock.freeze(clock.now())
    staff = new_staff(h)
    secret, _ = enrol(h, staff)
    clock.advance(timedelta(seconds=30))
    pending = [challenge(h, staff["email"]) for _ in range(2)]
    now_code = code(secret)
    with h.engine.connect() as conn:
        tx = conn.begin()
        conn.execute(text("SELECT 1 FROM mfa_factors WHERE user_id = :u FOR UPDATE"),
                     {"u": staff["user_id"]})
        calls = [eventlet.spawn(lambda c=c: h.rpc(None).login_mfa(c, now_code, IP)) for c in pending]
        wait_for(lambda: h.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                  "current_database() AND wait_event_type = 'Lock'") >= 2,
                 what="both second steps waiting")
        tx.commit()
    outcomes: list[str] = []
    for call in calls:
        try:
            outcomes.append("token" if "token" in call.wait() else "?")
        except Unauthorized as err:
            outcomes.append(str(err.code))
    assert sorted(outcomes) == ["mfa_code_invalid", "token"]
    assert h.scalar("SELECT count(*) FROM sessions WHERE user_id = :u", u=staff["user_id"]) == 1


def test_get_me_says_whether_a_factor_is_active(h: Any) -> None:
    member = h.new_member(h.new_network(), "mfa-me@soleil.test")
    assert h.rpc(member).get_me()["mfa"] == {"active": False}
    started = h.rpc(member).start_mfa_enrolment()
    assert h.rpc(member).get_me()["mfa"] == {"active": False}  # pending is not active
    h.rpc(member).confirm_mfa_enrolment(code(started["secret"]))
    assert h.rpc(member).get_me()["mfa"] == {"active": True}
