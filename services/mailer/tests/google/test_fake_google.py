"""The fake Google holds the protocol the mailer relies on, over loopback HTTP: exact
scopes, a state and an S256 challenge at authorization; single-use codes redeemed only
with the matching PKCE verifier and client secret; refresh, userinfo, revoke; injected
faults change nothing."""
from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

VERIFIER = "v" * 20 + "-._~" + "w" * 24
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(
    b"=").decode()
SCOPE = "openid email https://www.googleapis.com/auth/gmail.send"
REDIRECT = "https://app.suivi.test/api/mailer/google/callback"


def http() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def authorize(fake: Any, **over: str) -> requests.Response:
    params = {"client_id": fake.client_id, "redirect_uri": REDIRECT, "response_type": "code",
              "scope": SCOPE, "state": "st-1", "code_challenge": CHALLENGE,
              "code_challenge_method": "S256", "login_hint": "zoe@gmail.test", **over}
    params = {k: v for k, v in params.items() if v != ""}
    return http().get(f"{fake.base_url}/o/oauth2/v2/auth?{urlencode(params)}",
                      allow_redirects=False, timeout=30)


def code_of(resp: requests.Response) -> str:
    assert resp.status_code == 302, resp.text
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["state"] == ["st-1"]
    return query["code"][0]


def token(fake: Any, **form: str) -> requests.Response:
    body = {"client_id": fake.client_id, "client_secret": fake.client_secret,
            "redirect_uri": REDIRECT, "grant_type": "authorization_code", **form}
    return http().post(f"{fake.base_url}/token", data=body, timeout=30)


@pytest.mark.parametrize("over, error", [
    ({"scope": "openid email"}, "invalid_scope"),
    ({"scope": SCOPE + " https://mail.google.com/"}, "invalid_scope"),
    ({"state": ""}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": ""}, "invalid_request"),
    ({"client_id": "someone-else"}, "invalid_client"),
    ({"response_type": "token"}, "unsupported_response_type"),
])
def test_authorization_requires_exact_scopes_state_and_s256(fake_google: Any, over: dict[str, str],
                                                            error: str) -> None:
    resp = authorize(fake_google, **over)
    assert resp.status_code == 400 and resp.json()["error"] == error


def test_a_code_is_redeemed_once_with_its_verifier_only(fake_google: Any) -> None:
    code = code_of(authorize(fake_google))
    wrong = token(fake_google, code=code, code_verifier="x" * 43)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    code = code_of(authorize(fake_google))
    assert token(fake_google, code=code, code_verifier=VERIFIER,
                 client_secret="bad").status_code == 401
    assert token(fake_google, code=code, code_verifier=VERIFIER,
                 redirect_uri="https://evil.test/cb").json()["error"] == "invalid_grant"
    assert token(fake_google, code=code).json()["error"] == "invalid_grant"  # no verifier
    good = token(fake_google, code=code, code_verifier=VERIFIER)
    assert good.status_code == 200, good.text
    tokens = good.json()
    assert tokens["scope"].split() == sorted(["openid", "https://www.googleapis.com/auth/gmail.send",
                                              "https://www.googleapis.com/auth/userinfo.email"])
    replay = token(fake_google, code=code, code_verifier=VERIFIER)
    assert replay.json()["error"] == "invalid_grant"
    [grant] = fake_google.grants
    assert grant.revoked  # a replayed code revokes what it gave


def test_refresh_userinfo_revoke_and_faults(fake_google: Any) -> None:
    code = code_of(authorize(fake_google))
    tokens = token(fake_google, code=code, code_verifier=VERIFIER).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = http().get(f"{fake_google.base_url}/v1/userinfo", headers=bearer, timeout=30).json()
    assert info["email"] == "zoe@gmail.test" and info["email_verified"] is True
    fake_google.fail_next("userinfo", 503)
    assert http().get(f"{fake_google.base_url}/v1/userinfo", headers=bearer,
                      timeout=30).status_code == 503
    refreshed = http().post(f"{fake_google.base_url}/token", timeout=30, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": fake_google.client_id, "client_secret": fake_google.client_secret}).json()
    assert refreshed["access_token"] != tokens["access_token"]
    revoke = http().post(f"{fake_google.base_url}/revoke", timeout=30,
                         data={"token": tokens["refresh_token"]})
    assert revoke.status_code == 200
    for access in (tokens["access_token"], refreshed["access_token"]):
        assert http().get(f"{fake_google.base_url}/v1/userinfo", timeout=30,
                          headers={"Authorization": f"Bearer {access}"}).status_code == 401
    again = http().post(f"{fake_google.base_url}/token", timeout=30, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
        "client_id": fake_google.client_id, "client_secret": fake_google.client_secret})
    assert again.json()["error"] == "invalid_grant"


def test_gmail_send_checks_the_token_the_scope_and_the_message(fake_google: Any) -> None:
    raw = (b"From: Zoe <zoe@gmail.test>\r\nTo: lead@example.org\r\nSubject: Hi\r\n"
           b"Date: Tue, 01 Dec 2026 09:00:00 +0000\r\n\r\nHello\r\n")
    send = f"{fake_google.base_url}/gmail/v1/users/me/messages/send"
    body = json.dumps({"raw": base64.urlsafe_b64encode(raw).decode()})
    assert http().post(send, data=body, timeout=30).status_code == 401
    partial = code_of(authorize(fake_google, fake_grant="openid,email"))
    no_gmail = token(fake_google, code=partial, code_verifier=VERIFIER).json()["access_token"]
    forbidden = http().post(send, data=body, timeout=30,
                            headers={"Authorization": f"Bearer {no_gmail}"})
    assert forbidden.status_code == 403
    code = code_of(authorize(fake_google))
    bearer = {"Authorization": "Bearer " + token(fake_google, code=code,
                                                 code_verifier=VERIFIER).json()["access_token"]}
    spoofed = raw.replace(b"zoe@gmail.test", b"ceo@bank.test")
    assert http().post(send, timeout=30, headers=bearer, data=json.dumps(
        {"raw": base64.urlsafe_b64encode(spoofed).decode()})).status_code == 400
    fake_google.fail_next("send", 429, retry_after=3)
    throttled = http().post(send, data=body, timeout=30, headers=bearer)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert fake_google.sent == []  # a fault stores nothing
    ok = http().post(send, data=body, timeout=30, headers=bearer)
    assert ok.status_code == 200 and ok.json()["labelIds"] == ["SENT"]
    [sent] = fake_google.sent
    assert sent.raw == raw and sent.message["Subject"] == "Hi"
    assert fake_google.sent_to("lead@example.org") == [sent]
