"""Safe defaults seen from outside, on the running platform: response headers, JSON errors
for unknown routes, text fields and JSON bodies no service can store, the capture key
checked before the upload, the client address behind a trusted proxy, and refusals logged
once at INFO."""
from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from suivi_common.testing.waiting import wait_for
from tools.api_client import Api, Mailbox, onboard
from tools.platform import Platform

SECURITY_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer"}


def raw(api: Api, method: str, path: str, **kwargs: Any) -> Any:
    headers = dict(kwargs.pop("headers", {}) or {})
    if api.token:
        headers["Authorization"] = f"Bearer {api.token}"
    return api.http.request(method, api.base_url + path, headers=headers, timeout=60, **kwargs)


@pytest.mark.parametrize("method, path", [("GET", "/api/terms/current"), ("GET", "/api/me"),
                                          ("GET", "/openapi.json"), ("GET", "/api/nowhere"),
                                          ("OPTIONS", "/api/me"), ("POST", "/api/auth/login")])
def test_every_response_carries_the_security_headers(anon: Api, method: str, path: str) -> None:
    resp = raw(anon, method, path, data=b"{oops")
    for name, value in SECURITY_HEADERS.items():
        assert resp.headers[name] == value, (path, name)
    assert "Strict-Transport-Security" not in resp.headers  # PUBLIC_URL is http here
    assert resp.headers["X-Request-Id"]


@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/api/nowhere", 404, "route_not_found"),
    ("POST", "/api/leads/x/y/z", 404, "route_not_found"),
    ("GET", "//api//me", 404, "route_not_found"),
    ("DELETE", "/api/me", 405, "method_not_allowed"),
    ("PUT", "/api/auth/login", 405, "method_not_allowed"),
])
def test_unknown_routes_and_methods_answer_the_platforms_json_error(
        anon: Api, method: str, path: str, status: int, code: str) -> None:
    resp = raw(anon, method, path)
    assert resp.status_code == status
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json()["error"]["code"] == code
    if status == 405:
        assert "GET" in resp.headers["Allow"] or "POST" in resp.headers["Allow"]


def test_a_nul_in_a_capture_site_name_is_a_400_naming_the_field(staff: Api) -> None:
    status, body = staff.call("POST", "/api/staff/capture-sites",
                              {"name": "a\u0000b", "url": "https://capture.example"})
    assert status == 400
    assert set(body["error"]["fields"]) == {"name"}


@pytest.mark.parametrize("path, query", [("/api/staff/networks", {"cursor": "a\x00b"}),
                                         ("/api/staff/capture-sites/a%00b/revoke", None)])
def test_control_characters_in_queries_and_paths_are_400s(staff: Api, path: str,
                                                          query: Any) -> None:
    method = "POST" if path.endswith("revoke") else "GET"
    status, body = staff.call(method, path, params=query)
    assert status == 400 and body["error"]["fields"]


def test_deeply_nested_json_is_a_400(anon: Api, staff: Api) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for api, path in ((anon, "/api/auth/login"), (staff, "/api/networks")):
        status, body = api.call("POST", path, data=deep,
                                headers={"Content-Type": "application/json"})
        assert status == 400 and body["error"]["code"] == "json_too_deep"


def test_a_wrong_capture_key_is_refused_before_the_body_is_read(base_url: str) -> None:
    """Announce 8 MB and send none of it: an answer can only come from a gateway that did not
    wait for the body."""
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port
    with socket.create_connection((host, port), timeout=60) as sock:
        sock.sendall(b"POST /api/capture/leads HTTP/1.1\r\nHost: suivi\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 8000000\r\n"
                     b"X-Capture-Key: lck_not-a-real-key\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            assert chunk, "the gateway closed the connection without answering"
            head += chunk
    assert head.startswith(b"HTTP/1.1 401")
    assert b"capture_key_invalid" in head or b"Content-Length" in head


def acceptance_ip(platform: Platform, user_id: str) -> str:
    """The address kept with a terms acceptance, decrypted as accounts would."""
    from nameko import config

    from accounts.models import common, terms_acceptances, users
    from suivi_common.crypto import KeyRing, Vault, load_master_key

    with config.patch({"SUIVI_ENV": "dev",
                       "SUIVI_MASTER_KEY_FILE": str(Path(platform.var_dir) / "master.key")}):
        key = load_master_key()
    engine = create_engine(platform.db_url("accounts"))
    try:
        with Session(engine) as session:
            row = session.execute(
                select(terms_acceptances.c.id, terms_acceptances.c.ip, users.c.network_id)
                .join(users, users.c.id == terms_acceptances.c.user_id)
                .where(terms_acceptances.c.user_id == uuid.UUID(user_id))).one()
            text = Vault(KeyRing(key, common, engine), session).decrypt(
                str(row.network_id), "terms_acceptances", "ip", row.id, row.ip)
    finally:
        engine.dispose()
    assert text is not None
    return text


def test_behind_a_trusted_proxy_the_forwarded_client_is_kept_with_the_terms_acceptance(
        platform: Platform, base_url: str, staff: Api, mailbox: Mailbox) -> None:
    # this platform trusts 127.0.0.1 as a proxy (TRUSTED_PROXIES=127.0.0.1/32)
    email = f"admin-{uuid.uuid4().hex[:8]}@example.org"
    staff.post("/api/networks", {"name": "Réseau Proxy", "admin": {
        "email": email, "first_name": "Alice", "last_name": "Martin"}}, expect=201)
    admin = onboard(base_url, mailbox, email, "Correct-Horse-Battery-42", accept_terms=False)
    version = admin.get("/api/terms/current")["version"]
    admin.post("/api/terms/accept", {"version": version},
               headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.23"})
    me = admin.get("/api/me")
    assert acceptance_ip(platform, me["id"]) == "198.51.100.23"


def test_failures_from_one_forwarded_address_never_lock_another_out(
        base_url: str, make_network: Any) -> None:
    _, admin = make_network()
    email, anon = admin.email, Api(base_url)
    attacker = {"X-Forwarded-For": "203.0.113.200"}
    for _ in range(30):
        status, _ = anon.call("POST", "/api/auth/login", {"email": email, "password": "nope nope"},
                              headers=attacker)
        if status == 429:
            break
        assert status == 401
    else:
        raise AssertionError("30 quick failures were never slowed down")
    status, body = anon.call("POST", "/api/auth/login",
                             {"email": email, "password": "Correct-Horse-Battery-42"},
                             headers={"X-Forwarded-For": "198.51.100.77"})
    assert status == 200 and body["token"]


def log_lines(platform: Platform, process: str, needle: str) -> list[dict[str, Any]]:
    path = Path(platform.var_dir) / "log" / f"{process}.log"
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if needle in line:
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"raw": line})
    return out


def wait_for_log(platform: Platform, process: str, needle: str) -> None:
    wait_for(lambda: log_lines(platform, process, needle), what=f"{needle} in {process}.log")


def test_a_refusal_is_one_info_line_with_its_code_and_no_traceback(
        platform: Platform, staff: Api, anon: Api) -> None:
    refused, marker = f"refused-{uuid.uuid4().hex}", f"marker-{uuid.uuid4().hex}"
    # a refusal of the gateway's own (no token) and one that comes back from accounts
    anon.call("GET", "/api/me", headers={"X-Request-Id": refused})
    missing = str(uuid.uuid4())
    staff.call("POST", f"/api/staff/payments/{missing}/validate",
               headers={"X-Request-Id": refused + "-svc"})
    # logs are written in order: once the marker is there, so is everything before it
    for api in (anon, staff):
        api.call("POST", f"/api/staff/payments/{missing}/validate",
                 headers={"X-Request-Id": marker})
    wait_for_log(platform, "gateway", marker)
    wait_for_log(platform, "accounts-0", marker)
    [gateway_own] = log_lines(platform, "gateway", refused + '"')
    assert gateway_own["level"] == "INFO" and gateway_own["code"] == "token_missing"
    assert gateway_own["correlation_id"] == refused and "exc" not in gateway_own
    for process in ("gateway", "accounts-0"):
        [line] = log_lines(platform, process, refused + "-svc")
        assert line["level"] == "INFO" and line["status"] == 404, (process, line)
        assert "exc" not in line and "Traceback" not in json.dumps(line)
