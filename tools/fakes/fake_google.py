"""Fake Google (OAuth 2.0 + OpenID userinfo + Gmail send) speaking the real protocol.

Why: linking Gmail and sending through it must be testable end to end (browser redirect,
PKCE, single-use codes, refresh, revocation, Gmail's 401/429/5xx) without Google. It is a
real HTTP server on loopback; the mailer talks to it through ``GOOGLE_BASE_URL``, under
Google's own paths.

Protocol:

* ``GET /o/oauth2/v2/auth?client_id&redirect_uri&response_type=code&scope&state
  &code_challenge&code_challenge_method=S256[&access_type&prompt&login_hint]``: checks the
  client, ``response_type``, that ``scope`` is exactly ``openid email
  https://www.googleapis.com/auth/gmail.send``, a ``state`` and an S256 challenge (400 JSON
  otherwise). With ``login_hint=<address>`` it consents at once as that account: 302 to
  ``redirect_uri?code&state&scope``; without, it shows a consent page (address, Allow /
  Deny; Deny redirects with ``error=access_denied``). Test knobs: ``fake_grant=openid,email``
  grants fewer scopes (granular consent), ``fake_deny=1`` refuses.
* ``POST /token`` (form; client secret in the body or HTTP Basic):
  ``grant_type=authorization_code`` needs the code (single use, 10 minutes; a second use is
  ``invalid_grant`` and revokes what the first gave), the same ``redirect_uri`` and a
  ``code_verifier`` whose S256 is the challenge; answers ``{access_token, expires_in,
  refresh_token, scope, token_type, id_token}``, the scope spelled as Google does
  (``email`` as ``.../auth/userinfo.email``). ``grant_type=refresh_token`` gives a new
  access token, ``invalid_grant`` once revoked.
* ``GET /v1/userinfo`` (Bearer): ``{sub, email, email_verified}``.
* ``POST /revoke`` (``token`` in the form body): revokes the whole grant (its access and
  refresh tokens).
* ``POST /gmail/v1/users/me/messages/send`` (Bearer, ``gmail.send`` scope), JSON
  ``{raw}``: base64url RFC 5322 bytes, parsed with the ``email`` package; ``From`` must be
  the account's address and there must be a recipient. Stored; answers ``{id, threadId,
  labelIds}``. Errors use Gmail's JSON error shape.
* Faults: ``fail_next(endpoint, status, times, retry_after)`` in process, or
  ``POST /_fake/faults {endpoint, status, times, retry_after}``: the next ``times``
  requests to ``send``, ``token``, ``userinfo`` or ``revoke`` get ``status`` (401, 429,
  5xx...) and change nothing. ``POST /_fake/revoke-account {email}`` revokes every grant of
  an account (the user removed the app in their Google account).
* Inspection: ``GET /_fake/sent`` (messages received), ``GET /_fake/grants`` (tokens
  issued, for the tests' token scan), ``GET /healthz``.

Run it::

    python tools/fakes/fake_google.py [--host 127.0.0.1] [--port 8026]
        [--client-id ID] [--client-secret SECRET]
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import logging
import re
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the fakes' own helpers
import fake_serving  # noqa: E402

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8026
DEFAULT_CLIENT_ID = "suivi-local.apps.googleusercontent.test"
DEFAULT_CLIENT_SECRET = "fake-google-dev-client-secret-not-secret"
GMAIL_SEND = "https://www.googleapis.com/auth/gmail.send"
USERINFO_EMAIL = "https://www.googleapis.com/auth/userinfo.email"
REQUIRED_SCOPES = frozenset({"openid", "email", GMAIL_SEND})
#: How Google spells a granted scope back.
SPELLED = {"email": USERINFO_EMAIL}
CODE_TTL_S = 600.0
ACCESS_TTL_S = 3599
MAX_BODY_BYTES = 40 << 20
ENDPOINTS = ("send", "token", "userinfo", "revoke", "authorize")
CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")

log = logging.getLogger("fake_google")


def s256(verifier: str) -> str:
    """RFC 7636 S256 challenge of a verifier."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(
        b"=").decode()


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    challenge: str
    email: str
    scopes: frozenset[str]
    issued_at: float
    used: bool = False
    grant: Grant | None = None


@dataclass
class Grant:
    """One consent: a refresh token and the access tokens issued from it."""

    email: str
    scopes: frozenset[str]
    refresh_token: str
    access_tokens: list[str] = field(default_factory=list)
    revoked: bool = False

    def public(self) -> dict[str, Any]:
        return {"email": self.email, "scopes": sorted(self.scopes), "revoked": self.revoked,
                "refresh_token": self.refresh_token, "access_tokens": list(self.access_tokens)}


@dataclass
class Sent:
    id: str
    account: str
    raw: bytes
    message: EmailMessage

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "account": self.account,
                "raw": base64.urlsafe_b64encode(self.raw).decode(),
                "from": str(self.message.get("From", "")), "to": str(self.message.get("To", "")),
                "subject": str(self.message.get("Subject", ""))}


@dataclass
class Fault:
    status: int
    times: int
    retry_after: int | None = None


def _b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def spelled(scopes: frozenset[str]) -> str:
    return " ".join(sorted(SPELLED.get(s, s) for s in scopes))


class GoogleServer(ThreadingHTTPServer):
    """HTTP server holding the fake's in-memory state."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], client_id: str = DEFAULT_CLIENT_ID,
                 client_secret: str = DEFAULT_CLIENT_SECRET) -> None:
        super().__init__(address, GoogleHandler)
        self.client_id = client_id
        self.client_secret = client_secret
        self.lock = threading.Lock()
        self.codes: dict[str, Code] = {}
        self.grants: list[Grant] = []
        self.by_access: dict[str, Grant] = {}
        self.by_refresh: dict[str, Grant] = {}
        self.sent: list[Sent] = []
        self.faults: dict[str, Fault] = {}
        self.requests: Counter[str] = Counter()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- test controls -------------------------------------------------------

    def fail_next(self, endpoint: str, status: int, times: int = 1,
                  retry_after: int | None = None) -> None:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {ENDPOINTS}")
        with self.lock:
            self.faults[endpoint] = Fault(status, times, retry_after)

    def take_fault(self, endpoint: str) -> Fault | None:
        with self.lock:
            self.requests[endpoint] += 1
            fault = self.faults.get(endpoint)
            if fault is None or fault.times <= 0:
                return None
            fault.times -= 1
            return fault

    def revoke_account(self, email: str) -> int:
        with self.lock:
            found = [g for g in self.grants if g.email.lower() == email.lower() and not g.revoked]
            for grant in found:
                self._revoke(grant)
        return len(found)

    def sent_to(self, address: str) -> list[Sent]:
        with self.lock:
            return [s for s in self.sent
                    if any(a.lower() == address.lower()
                           for _, a in getaddresses(s.message.get_all("To", [])))]

    def issued_tokens(self) -> list[str]:
        """Every access and refresh token handed out (the tests look for them elsewhere)."""
        with self.lock:
            return [t for g in self.grants for t in (g.refresh_token, *g.access_tokens)]

    # --- protocol state ------------------------------------------------------

    def new_code(self, **fields: Any) -> str:
        code = "4/0" + secrets.token_urlsafe(32)
        with self.lock:
            self.codes[code] = Code(code=code, issued_at=time.monotonic(), **fields)
        return code

    def _revoke(self, grant: Grant) -> None:
        grant.revoked = True
        self.by_refresh.pop(grant.refresh_token, None)
        for token in grant.access_tokens:
            self.by_access.pop(token, None)

    def _issue_access(self, grant: Grant) -> str:
        token = "ya29." + secrets.token_urlsafe(48)
        grant.access_tokens.append(token)
        self.by_access[token] = grant
        return token

    def redeem(self, code_value: str, client_id: str, redirect_uri: str,
               verifier: str) -> tuple[Grant, str] | str:
        """Tokens for a code, or the OAuth error code."""
        with self.lock:
            code = self.codes.get(code_value)
            if code is None or code.client_id != client_id:
                return "invalid_grant"
            if code.used:  # a replayed code: refuse, and revoke what the first use gave
                if code.grant is not None:
                    self._revoke(code.grant)
                return "invalid_grant"
            if time.monotonic() - code.issued_at > CODE_TTL_S:
                return "invalid_grant"
            if code.redirect_uri != redirect_uri:
                return "invalid_grant"
            if not VERIFIER.fullmatch(verifier) or s256(verifier) != code.challenge:
                return "invalid_grant"
            code.used = True
            grant = Grant(code.email, code.scopes, "1//0" + secrets.token_urlsafe(40))
            self.grants.append(grant)
            self.by_refresh[grant.refresh_token] = grant
            code.grant = grant
            return grant, self._issue_access(grant)

    def refresh(self, refresh_token: str) -> tuple[Grant, str] | None:
        with self.lock:
            grant = self.by_refresh.get(refresh_token)
            if grant is None or grant.revoked:
                return None
            return grant, self._issue_access(grant)

    def grant_of(self, access_token: str) -> Grant | None:
        with self.lock:
            grant = self.by_access.get(access_token)
            return None if grant is None or grant.revoked else grant

    def revoke_token(self, token: str) -> bool:
        with self.lock:
            grant = self.by_refresh.get(token) or self.by_access.get(token)
            if grant is None or grant.revoked:
                return False
            self._revoke(grant)
            return True

    def store(self, account: str, raw: bytes, message: EmailMessage) -> Sent:
        with self.lock:
            sent = Sent(f"msg{len(self.sent) + 1:06d}{secrets.token_hex(4)}", account, raw, message)
            self.sent.append(sent)
            return sent


class GoogleHandler(BaseHTTPRequestHandler):
    server: GoogleServer
    server_version = "FakeGoogle/1"

    # --- plumbing -----------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        # the request line only: its path, never its query (codes, states ride there)
        log.info("%s %s %s", self.address_string(), self.command, urlsplit(self.path).path)

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8",
                   headers)

    def _oauth_error(self, status: int, error: str, description: str) -> None:
        self._json(status, {"error": error, "error_description": description})

    def _api_error(self, status: int, reason: str, message: str,
                   headers: dict[str, str] | None = None) -> None:
        """Google APIs' error body."""
        self._json(status, {"error": {"code": status, "message": message,
                                      "errors": [{"message": message, "domain": "global",
                                                  "reason": reason}],
                                      "status": HTTPStatus(status).phrase.upper()
                                      .replace(" ", "_")}}, headers)

    def _redirect(self, location: str) -> None:
        self._send(HTTPStatus.FOUND, b"", "text/plain", {"Location": location})

    def _read_body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._oauth_error(413, "invalid_request", "body too large")
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _form(self, body: bytes) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}

    def _bearer(self) -> str | None:
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def _fault(self, endpoint: str) -> bool:
        """Answer with an injected fault, if one is due."""
        fault = self.server.take_fault(endpoint)
        if fault is None:
            return False
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        reason = {401: "authError", 429: "rateLimitExceeded"}.get(fault.status, "backendError")
        if endpoint == "token":
            self._json(fault.status, {"error": "invalid_grant" if fault.status < 500
                                      else "internal_failure"}, headers)
        else:
            self._api_error(fault.status, reason, f"injected {fault.status}", headers)
        return True

    # --- verbs --------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/healthz":
            self._json(HTTPStatus.OK, {"status": "ok"})
        elif path == "/o/oauth2/v2/auth":
            self._authorize({k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()})
        elif path in ("/v1/userinfo", "/oauth2/v3/userinfo"):
            self._userinfo()
        elif path == "/_fake/sent":
            with self.server.lock:
                self._json(HTTPStatus.OK, [s.public() for s in self.server.sent])
        elif path == "/_fake/grants":
            with self.server.lock:
                self._json(HTTPStatus.OK, [g.public() for g in self.server.grants])
        else:
            self._oauth_error(HTTPStatus.NOT_FOUND, "not_found", f"no route for GET {path}")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._read_body()
        if body is None:
            return
        if path == "/token":
            self._token(self._form(body))
        elif path == "/revoke":
            self._revoke(self._form(body))
        elif path == "/o/oauth2/v2/auth/decide":
            self._authorize(self._form(body), decided=True)
        elif path == "/gmail/v1/users/me/messages/send":
            self._gmail_send(body)
        elif path == "/_fake/faults":
            data = json.loads(body or b"{}")
            try:
                self.server.fail_next(str(data.get("endpoint")), int(data["status"]),
                                      int(data.get("times", 1)), data.get("retry_after"))
            except (KeyError, TypeError, ValueError) as exc:
                self._oauth_error(HTTPStatus.BAD_REQUEST, "invalid_request", str(exc))
                return
            self._json(HTTPStatus.OK, {"ok": True})
        elif path == "/_fake/revoke-account":
            data = json.loads(body or b"{}")
            self._json(HTTPStatus.OK, {"revoked": self.server.revoke_account(str(data.get("email")))})
        else:
            self._oauth_error(HTTPStatus.NOT_FOUND, "not_found", f"no route for POST {path}")

    # --- authorization endpoint ---------------------------------------------

    def _authorize(self, params: dict[str, str], decided: bool = False) -> None:
        if self._fault("authorize"):
            return
        problem = self._authorization_problem(params)
        if problem:
            self._oauth_error(HTTPStatus.BAD_REQUEST, *problem)
            return
        redirect_uri, state = params["redirect_uri"], params["state"]
        sep = "&" if urlsplit(redirect_uri).query else "?"
        email = (params.get("login_hint") or params.get("email") or "").strip()
        if params.get("fake_deny") or params.get("decision") == "deny":
            self._redirect(f"{redirect_uri}{sep}{urlencode({'error': 'access_denied', 'state': state})}")
            return
        if not email:
            if decided:
                self._oauth_error(HTTPStatus.BAD_REQUEST, "invalid_request", "an address is needed")
            else:
                self._consent_page(params)
            return
        granted = REQUIRED_SCOPES
        if params.get("fake_grant"):
            granted = frozenset(params["fake_grant"].replace(",", " ").split()) & REQUIRED_SCOPES
        code = self.server.new_code(client_id=params["client_id"], redirect_uri=redirect_uri,
                                    challenge=params["code_challenge"], email=email,
                                    scopes=granted)
        log.info("consent given by %s", email)
        query = urlencode({"code": code, "state": state, "scope": spelled(granted)})
        self._redirect(f"{redirect_uri}{sep}{query}")

    def _authorization_problem(self, params: dict[str, str]) -> tuple[str, str] | None:
        if params.get("client_id") != self.server.client_id:
            return "invalid_client", "The OAuth client was not found."
        if urlsplit(params.get("redirect_uri", "")).scheme not in ("http", "https"):
            return "invalid_request", "redirect_uri must be an http(s) URL"
        if params.get("response_type") != "code":
            return "unsupported_response_type", "response_type must be code"
        scopes = frozenset((params.get("scope") or "").split())
        if scopes != REQUIRED_SCOPES:
            return "invalid_scope", "scope must be exactly: openid email " + GMAIL_SEND
        if not params.get("state"):
            return "invalid_request", "state is required"
        if params.get("code_challenge_method") != "S256":
            return "invalid_request", "code_challenge_method must be S256"
        if not CHALLENGE.fullmatch(params.get("code_challenge") or ""):
            return "invalid_request", "code_challenge must be 43 base64url characters"
        return None

    def _consent_page(self, params: dict[str, str]) -> None:
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in params.items())
        page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Fake Google</title></head>
<body><h1>Fake Google: allow Suivi to send email as you?</h1>
<form method="post" action="/o/oauth2/v2/auth/decide">{hidden}
<label>Google account <input name="email" type="email" value="demo@gmail.test"></label>
<button name="decision" value="allow">Allow</button>
<button name="decision" value="deny">Deny</button></form></body></html>
"""
        self._send(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8")

    # --- token endpoint -----------------------------------------------------

    def _client(self, form: dict[str, str]) -> str | None:
        """The authenticated client id (secret in the body or HTTP Basic), or None."""
        client_id, secret = form.get("client_id"), form.get("client_secret")
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = base64.b64decode(value).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
        if client_id == self.server.client_id and secret == self.server.client_secret:
            return client_id
        return None

    def _token(self, form: dict[str, str]) -> None:
        if self._fault("token"):
            return
        client_id = self._client(form)
        if client_id is None:
            self._oauth_error(HTTPStatus.UNAUTHORIZED, "invalid_client", "Unauthorized")
            return
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            result = self.server.redeem(form.get("code", ""), client_id,
                                        form.get("redirect_uri", ""), form.get("code_verifier", ""))
            if isinstance(result, str):
                self._oauth_error(HTTPStatus.BAD_REQUEST, result, "Bad Request")
                return
            grant, access = result
            self._json(HTTPStatus.OK, {
                "access_token": access, "expires_in": ACCESS_TTL_S, "token_type": "Bearer",
                "refresh_token": grant.refresh_token, "scope": spelled(grant.scopes),
                "id_token": self._id_token(grant)})
        elif grant_type == "refresh_token":
            refreshed = self.server.refresh(form.get("refresh_token", ""))
            if refreshed is None:
                self._oauth_error(HTTPStatus.BAD_REQUEST, "invalid_grant",
                                  "Token has been expired or revoked.")
                return
            grant, access = refreshed
            self._json(HTTPStatus.OK, {"access_token": access, "expires_in": ACCESS_TTL_S,
                                       "token_type": "Bearer", "scope": spelled(grant.scopes)})
        else:
            self._oauth_error(HTTPStatus.BAD_REQUEST, "unsupported_grant_type",
                              "grant_type must be authorization_code or refresh_token")

    def _id_token(self, grant: Grant) -> str:
        """An unsigned-looking JWT (the mailer reads userinfo, not this)."""
        def part(data: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
        now = int(time.time())
        return ".".join([part({"alg": "none", "typ": "JWT"}),
                         part({"iss": self.server.base_url, "aud": self.server.client_id,
                               "sub": self._sub(grant.email), "email": grant.email,
                               "email_verified": True, "iat": now, "exp": now + ACCESS_TTL_S}),
                         ""])

    @staticmethod
    def _sub(email: str) -> str:
        return str(int(hashlib.sha256(email.lower().encode()).hexdigest()[:15], 16))

    # --- userinfo, revoke ---------------------------------------------------

    def _userinfo(self) -> None:
        if self._fault("userinfo"):
            return
        grant = self.server.grant_of(self._bearer() or "")
        if grant is None:
            self._api_error(HTTPStatus.UNAUTHORIZED, "authError", "Invalid Credentials")
            return
        self._json(HTTPStatus.OK, {"sub": self._sub(grant.email), "email": grant.email,
                                   "email_verified": True})

    def _revoke(self, form: dict[str, str]) -> None:
        if self._fault("revoke"):
            return
        token = form.get("token") or ""
        if not self.server.revoke_token(token):
            self._oauth_error(HTTPStatus.BAD_REQUEST, "invalid_token", "Token expired or revoked")
            return
        log.info("grant revoked")
        self._json(HTTPStatus.OK, {})

    # --- Gmail --------------------------------------------------------------

    def _gmail_send(self, body: bytes) -> None:
        if self._fault("send"):
            return
        grant = self.server.grant_of(self._bearer() or "")
        if grant is None:
            self._api_error(HTTPStatus.UNAUTHORIZED, "authError", "Invalid Credentials")
            return
        if GMAIL_SEND not in grant.scopes:
            self._api_error(HTTPStatus.FORBIDDEN, "insufficientPermissions",
                            "Request had insufficient authentication scopes.")
            return
        try:
            data = json.loads(body)
            raw = _b64decode(data["raw"])
            message = BytesParser(policy=policy.default).parsebytes(raw)
        except (ValueError, KeyError, TypeError, binascii.Error):
            self._api_error(HTTPStatus.BAD_REQUEST, "invalidArgument", "Invalid raw message")
            return
        problem = self._message_problem(message, grant.email)
        if problem:
            self._api_error(HTTPStatus.BAD_REQUEST, "invalidArgument", problem)
            return
        sent = self.server.store(grant.email, raw, message)  # type: ignore[arg-type]
        log.info("message %s sent by %s", sent.id, grant.email)
        self._json(HTTPStatus.OK, {"id": sent.id, "threadId": sent.id, "labelIds": ["SENT"]})

    @staticmethod
    def _message_problem(message: Any, account: str) -> str | None:
        if message.defects:
            return "Malformed RFC 5322 message"
        sender = parseaddr(str(message.get("From", "")))[1]
        if sender.lower() != account.lower():
            return "From must be the authenticated account's address"
        recipients = getaddresses(message.get_all("To", []) + message.get_all("Cc", []) +
                                  message.get_all("Bcc", []))
        if not any("@" in address for _, address in recipients):
            return "Recipient address required"
        if not message.get("Subject") and not message.get_payload():
            return "Empty message"
        return None


def start_google(host: str = DEFAULT_HOST, port: int = 0, client_id: str = DEFAULT_CLIENT_ID,
                 client_secret: str = DEFAULT_CLIENT_SECRET
                 ) -> tuple[GoogleServer, threading.Thread]:
    """Start the fake in a daemon thread; ``port=0`` picks a free port.

    Stop it with ``server.shutdown(); server.server_close()``.
    """
    server = GoogleServer((host, port), client_id, client_secret)
    return server, fake_serving.in_thread(server, "fake-google")


def main(argv: Sequence[str] | None = None) -> int:
    parser = fake_serving.parser(__doc__, DEFAULT_HOST, DEFAULT_PORT)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    args = parser.parse_args(argv)
    fake_serving.log_setup()
    server = GoogleServer((args.host, args.port), args.client_id, args.client_secret)
    log.info("listening on %s", server.base_url)

    return fake_serving.until_stopped(server)


if __name__ == "__main__":
    raise SystemExit(main())
