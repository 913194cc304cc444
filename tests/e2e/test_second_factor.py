"""The second factor over HTTP (issue 14 §1): a staff account without one may only enrol;
it enrols a TOTP factor, then logs in in two steps; a code cannot be replayed, a recovery
code works once, wrong codes are refused and throttled like passwords."""
from __future__ import annotations

import uuid
from typing import Any

from suivi_common.testing.waiting import wait_for
from tests.e2e.scenario import step
from tools.api_client import Api, Mailbox, enrol_totp, login_staff, totp_code
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


def audit_entry(compliance: Api, kind: str, user_id: str) -> Any:
    items = compliance.get(f"/api/compliance/audit?kind={kind}&limit=500")["items"]
    return next((e for e in items if e["subject"]["id"] == user_id), None)


def new_compliance(base_url: str, staff: Api) -> Api:
    email = f"dpo-{uuid.uuid4().hex[:8]}@suivi.test"
    staff.post("/api/staff/users", {"email": email, "password": PASSWORD, "role": "compliance"},
               expect=201)
    return login_staff(base_url, email, PASSWORD)


def test_staff_reset_a_lost_factor_after_proving_themselves_again_and_it_is_audited(
        base_url: str, staff: Api, mailbox: Mailbox) -> None:
    """A staff member who lost their phone: another staff member, with password and code
    asked again, removes the factor; the holder's sessions end, they are told, and they can
    only enrol again. Enrolment, recovery-code use and the reset land in the audit trail."""
    compliance = new_compliance(base_url, staff)
    lost_email = new_staff(staff)
    _, headers = client(base_url)
    first = password_step(base_url, lost_email, headers)
    lost_id = first["user"]["id"]
    lost_factor = enrol_totp(Api(base_url, first["token"]))
    # a login with a recovery code (the phone is gone): a session, audited
    challenge = password_step(base_url, lost_email, headers)["challenge"]
    status, logged = code_step(base_url, challenge, lost_factor.recovery_codes[0], headers)
    assert status == 200, logged
    lost_session = Api(base_url, logged["token"])
    lost_session.get(STAFF_ROUTE)

    helper_email = new_staff(staff)
    _, helper_headers = client(base_url)
    helper = Api(base_url, password_step(base_url, helper_email, helper_headers)["token"])
    helper_factor = enrol_totp(helper)
    helper_id = helper.get("/api/me")["id"]
    reset = f"/api/staff/users/{lost_id}/mfa/reset"

    with step("the staff member's own password and code are asked again"):
        status, body = helper.call("POST", reset, {"current_password": "Not-My-Password-77",
                                                   "code": totp_code(base_url, helper_factor.secret, 1)},
                                   headers=helper_headers)
        assert (status, body["error"]["code"]) == (403, "current_password_wrong"), body
        status, body = helper.call("POST", reset, {"current_password": PASSWORD},
                                   headers=helper_headers)
        assert (status, body["error"]["code"]) == (403, "mfa_code_invalid"), body
        status, body = helper.call("POST", f"/api/staff/users/{helper_id}/mfa/reset", {
            "current_password": PASSWORD, "code": totp_code(base_url, helper_factor.secret, 1)},
            headers=helper_headers)
        assert (status, body["error"]["code"]) == (409, "cannot_target_self"), body
        status, body = helper.call("POST", f"/api/staff/users/{uuid.uuid4()}/mfa/reset", {
            "current_password": PASSWORD}, headers=helper_headers)
        assert status == 404, body
        lost_session.get(STAFF_ROUTE)  # nothing changed
        assert password_step(base_url, lost_email, headers)["mfa_required"] is True

    with step("the reset removes the factor and ends every session of the holder"):
        done = helper.post(reset, {"current_password": PASSWORD,
                                   "code": totp_code(base_url, helper_factor.secret, 1)},
                           headers=helper_headers, expect=200)
        assert done["user_id"] == lost_id and done["revoked_sessions"] >= 2
        assert done["enrolment_required"] is True
        assert lost_session.call("GET", "/api/me")[0] == 401
        status, body = helper.call("POST", reset, {"current_password": PASSWORD,
                                                   "code": totp_code(base_url, helper_factor.secret, 1)},
                                   headers=helper_headers)
        assert (status, body["error"]["code"]) == (409, "mfa_not_enrolled"), body

    with step("the holder is told, and can only enrol again"):
        notice = mailbox.wait_for(lost_email, "double authentification", timeout=90.0)
        assert "sessions ont été fermées" in Mailbox.text_of(notice)
        again = password_step(base_url, lost_email, headers)
        assert again["mfa_enrolment_required"] is True and "mfa_required" not in again
        session = Api(base_url, again["token"])
        status, body = session.call("GET", STAFF_ROUTE)
        assert (status, body["error"]["code"]) == (403, "mfa_enrolment_required")
        new_factor = enrol_totp(session)
        session.get(STAFF_ROUTE)
        # the old recovery codes went with the old factor
        challenge = password_step(base_url, lost_email, headers)["challenge"]
        status, body = code_step(base_url, challenge, lost_factor.recovery_codes[1], headers)
        assert (status, body["error"]["code"]) == (401, "mfa_code_invalid")
        status, body = code_step(base_url, challenge, new_factor.recovery_codes[0], headers)
        assert status == 200, body

    with step("enrolment, recovery-code use and the reset are in the audit trail"):
        entry = wait_for(lambda: audit_entry(compliance, "mfa.reset", lost_id),
                         what="mfa.reset audited")
        assert entry["actor"]["user_id"] == helper_id
        assert entry["details"]["staff_id"] == helper_id
        used = wait_for(lambda: audit_entry(compliance, "mfa.recovery_code_used", lost_id),
                        what="mfa.recovery_code_used audited")
        assert used["details"]["remaining"] == 9
        wait_for(lambda: audit_entry(compliance, "mfa.enrolled", helper_id),
                 what="mfa.enrolled audited")
        assert compliance.get("/api/compliance/audit/verify")["ok"] is True


def test_the_dev_staff_without_a_factor_resets_with_its_password(
        base_url: str, staff: Api, make_network: Any) -> None:
    """An admin's optional factor, reset by the bootstrap staff (no factor of its own: the
    password alone is asked again); the admin then logs in with the password alone."""
    _, admin = make_network(password=PASSWORD)
    admin_id = admin.get("/api/me")["id"]
    enrol_totp(admin)
    reset = f"/api/staff/users/{admin_id}/mfa/reset"
    status, body = staff.call("POST", reset, {"current_password": "Wrong-Dev-Password-1"})
    assert (status, body["error"]["code"]) == (403, "current_password_wrong")
    done = staff.post(reset, {"current_password": DEV_STAFF[1]}, expect=200)
    assert done["enrolment_required"] is False
    assert admin.call("GET", "/api/me")[0] == 401
    body = Api(base_url).post("/api/auth/login", {"email": admin.email, "password": PASSWORD},
                              expect=200)
    assert body["token"] and "mfa_required" not in body
    status, body = admin.call("POST", reset, {"current_password": PASSWORD})
    assert status in (401, 403)  # not staff (and that session ended)


def test_a_user_replaces_their_recovery_codes_and_removes_their_factor_staff_cannot(
        base_url: str, staff: Api, make_network: Any) -> None:
    """A user holding a factor replaces their recovery codes (a code asked: the old ones
    stop working) and removes the factor (password and code asked again: the next login
    is a password again); staff, who must keep one, cannot remove theirs. All audited."""
    _, admin = make_network(password=PASSWORD)
    admin_email = admin.email  # type: ignore[attr-defined]
    admin_id = admin.get("/api/me")["id"]
    _, headers = client(base_url)
    factor = enrol_totp(admin)

    with step("new recovery codes need a code of the factor"):
        good = totp_code(base_url, factor.secret, 1)
        wrong = "000000" if good != "000000" else "111111"
        status, body = admin.call("POST", "/api/me/mfa/recovery-codes", {"code": wrong},
                                  headers=headers)
        assert (status, body["error"]["code"]) == (403, "mfa_code_invalid"), body
        renewed = admin.post("/api/me/mfa/recovery-codes", {"code": good}, headers=headers,
                             expect=200)
        assert len(set(renewed["recovery_codes"])) == 10
        assert not set(renewed["recovery_codes"]) & set(factor.recovery_codes)
    with step("an old recovery code no longer logs in, a new one does"):
        challenge = password_step(base_url, admin_email, headers)["challenge"]
        assert code_step(base_url, challenge, factor.recovery_codes[0], headers)[0] == 401
        challenge = password_step(base_url, admin_email, headers)["challenge"]
        status, logged = code_step(base_url, challenge, renewed["recovery_codes"][0], headers)
        assert status == 200, logged

    with step("removing the factor asks the password and a code again"):
        status, body = admin.call("DELETE", "/api/me/mfa/totp", {
            "current_password": "Not-My-Password-77", "code": renewed["recovery_codes"][1]},
            headers=headers)
        assert (status, body["error"]["code"]) == (403, "current_password_wrong"), body
        status, body = admin.call("DELETE", "/api/me/mfa/totp", {
            "current_password": PASSWORD, "code": factor.recovery_codes[1]}, headers=headers)
        assert (status, body["error"]["code"]) == (403, "mfa_code_invalid"), body
        assert password_step(base_url, admin_email, headers)["mfa_required"] is True
        done = admin.call("DELETE", "/api/me/mfa/totp", {
            "current_password": PASSWORD, "code": renewed["recovery_codes"][1]}, headers=headers)
        assert done[0] == 200 and done[1]["active"] is False, done
    with step("the factor is gone: the password alone logs in, nothing is left to remove"):
        again = password_step(base_url, admin_email, headers)
        assert again["token"] and "mfa_required" not in again
        status, body = admin.call("DELETE", "/api/me/mfa/totp", {
            "current_password": PASSWORD, "code": renewed["recovery_codes"][2]}, headers=headers)
        assert (status, body["error"]["code"]) == (409, "mfa_not_enrolled"), body
        status, body = admin.call("POST", "/api/me/mfa/recovery-codes",
                                  {"code": renewed["recovery_codes"][2]}, headers=headers)
        assert (status, body["error"]["code"]) == (409, "mfa_not_enrolled"), body

    with step("staff keep their only factor"):
        ops_email = new_staff(staff)
        _, ops_headers = client(base_url)
        ops = Api(base_url, password_step(base_url, ops_email, ops_headers)["token"])
        ops_factor = enrol_totp(ops)
        ops_id = ops.get("/api/me")["id"]
        status, body = ops.call("DELETE", "/api/me/mfa/totp", {
            "current_password": PASSWORD, "code": totp_code(base_url, ops_factor.secret, 1)},
            headers=ops_headers)
        assert (status, body["error"]["code"]) == (409, "mfa_required_for_role"), body
        assert password_step(base_url, ops_email, ops_headers)["mfa_required"] is True
        renewed_ops = ops.post("/api/me/mfa/recovery-codes",
                               {"code": totp_code(base_url, ops_factor.secret, 1)},
                               headers=ops_headers, expect=200)
        assert len(renewed_ops["recovery_codes"]) == 10

    with step("the removal and the new codes are in the audit trail"):
        compliance = new_compliance(base_url, staff)
        removed = wait_for(lambda: audit_entry(compliance, "mfa.removed", admin_id),
                           what="mfa.removed audited")
        assert removed["details"]["role"] == "admin"
        for who in (admin_id, ops_id):
            entry = wait_for(lambda who=who: audit_entry(
                compliance, "mfa.recovery_codes_regenerated", who), what="codes audited")
            assert entry["details"]["count"] == 10
