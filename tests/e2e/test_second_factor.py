"""The second factor over HTTP (issue 14 §1): a staff account without one may only enrol;
it enrols a TOTP factor, then logs in in two steps; a code cannot be replayed, a recovery
code works once, wrong codes are refused and throttled like passwords."""
from __future__ import annotations

import uuid
from typing import Any

from tools.api_client import Api, enrol_totp, totp_code
from tools.platform import DEV_STAFF

PASSWORD = "Second-Factor-Heron-2026"
STAFF_ROUTE = "/api/staff/networks"


def client(base_url: str) -> tuple[Api, dict[str, str]]:
    """A client from an address of its own (the login throttle counts per address too)."""
    return Api(base_url), {"X-Forwarded-For": f"198.51.100.{uuid.uuid4().int % 250 + 1}"}


def new_staff(staff: Api) -> str:
    email = f"ops-{uuid.uuid4().hex[:8]}@suivi.test"
    staff.post("/api/staff/users", {"email": email, "password": PASSWORD, "role": "staff"},
               expect=201)
    return email


def password_step(base_url: str, email: str, headers: dict[str, str]) -> dict[str, Any]:
    return Api(base_url).post("/api/auth/login", {"email": email, "password": PASSWORD},
                              expect=200, headers=headers)


def code_step(base_url: str, challenge: str, code: str, headers: dict[str, str]) -> tuple[int, Any]:
    return Api(base_url).call("POST", "/api/auth/login/mfa", {"challenge": challenge, "code": code},
                              headers=headers)


def test_a_staff_account_without_a_factor_may_only_enrol_then_logs_in_in_two_steps(
        base_url: str, staff: Api) -> None:
    email = new_staff(staff)
    _, headers = client(base_url)
    first = password_step(base_url, email, headers)
    assert first["mfa_enrolment_required"] is True and first["token"]
    session = Api(base_url, first["token"])
    status, body = session.call("GET", STAFF_ROUTE)
    assert (status, body["error"]["code"]) == (403, "mfa_enrolment_required")
    assert session.call("GET", "/api/me")[1]["error"]["code"] == "mfa_enrolment_required"

    started = session.post("/api/me/mfa/totp", {}, expect=200)
    assert started["otpauth_uri"].startswith("otpauth://totp/Suivi:")
    assert started["qr_svg"].startswith("<svg")
    good = totp_code(base_url, started["secret"])
    wrong = "000000" if good != "000000" else "111111"
    status, body = session.call("POST", "/api/me/mfa/totp/confirm", {"code": wrong})
    assert (status, body["error"]["code"]) == (400, "mfa_code_invalid")
    assert session.call("GET", STAFF_ROUTE)[0] == 403  # still pending
    confirmed = session.post("/api/me/mfa/totp/confirm", {"code": totp_code(base_url, started["secret"])},
                             expect=200)
    codes = confirmed["recovery_codes"]
    assert len(set(codes)) == 10
    session.get(STAFF_ROUTE)  # the same session may now work

    # the password alone no longer gives a token
    second = password_step(base_url, email, headers)
    assert second["mfa_required"] is True and "token" not in second
    assert code_step(base_url, "x" * 43, totp_code(base_url, started["secret"], 1), headers)[0] == 401
    # the step after the confirmation's (that one is used)
    code = totp_code(base_url, started["secret"], 1)
    status, logged = code_step(base_url, second["challenge"], code, headers)
    assert status == 200, logged
    assert logged["user"]["role"] == "staff"
    Api(base_url, logged["token"]).get(STAFF_ROUTE)

    # replayed: the same code on a new challenge
    third = password_step(base_url, email, headers)
    status, body = code_step(base_url, third["challenge"], code, headers)
    assert (status, body["error"]["code"]) == (401, "mfa_code_invalid")
    # a recovery code in place of a code, once
    status, logged = code_step(base_url, third["challenge"], codes[0], headers)
    assert status == 200 and Api(base_url, logged["token"]).call("GET", STAFF_ROUTE)[0] == 200
    fourth = password_step(base_url, email, headers)
    status, body = code_step(base_url, fourth["challenge"], codes[0], headers)
    assert (status, body["error"]["code"]) == (401, "mfa_code_invalid")
    # a spent challenge is refused whatever the code
    status, body = code_step(base_url, third["challenge"], codes[1], headers)
    assert (status, body["error"]["code"]) == (401, "mfa_challenge_invalid")


def test_wrong_codes_are_refused_then_throttled(base_url: str, staff: Api) -> None:
    email = new_staff(staff)
    _, headers = client(base_url)
    session = Api(base_url, password_step(base_url, email, headers)["token"])
    factor = enrol_totp(session)
    good = totp_code(base_url, factor.secret, 1)
    wrong = f"{(int(good) + 500_000) % 1_000_000:06d}"
    statuses: list[int] = []
    challenge = ""
    while len(statuses) < 20 and 429 not in statuses:
        status, body = Api(base_url).call("POST", "/api/auth/login",
                                          {"email": email, "password": PASSWORD}, headers=headers)
        if status == 429:  # the password step counts the same failures
            statuses.append(status)
            break
        challenge = body["challenge"]
        statuses.append(code_step(base_url, challenge, wrong, headers)[0])
    assert statuses == [401] * 5 + [429]  # accounts' LOGIN_MAX_ACCOUNT_FAILURES
    resp = Api(base_url).http.post(f"{base_url}/api/auth/login/mfa", json={
        "challenge": challenge, "code": good}, headers=headers, timeout=60)
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0


def test_the_dev_bootstrap_staff_is_exempt_and_says_so(base_url: str) -> None:
    body = Api(base_url).post("/api/auth/login", {"email": DEV_STAFF[0], "password": DEV_STAFF[1]},
                              expect=200)
    assert body["mfa_exempt"] == "dev bootstrap" and body["token"]
    assert "mfa_enrolment_required" not in body
