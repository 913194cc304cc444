"""A small HTTP client for Suivi's gateway, used by the demo, the benchmarks and the
end-to-end tests. It drives the platform the way a web client would, and reads the
dev SMTP sink's ``.eml`` files the way a person reads their mailbox."""
from __future__ import annotations

import email
import email.policy
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import requests


class ApiError(AssertionError):
    def __init__(self, status: int, body: Any, method: str, path: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body}")
        self.status = status
        self.body = body


@dataclass
class Api:
    base_url: str
    token: str | None = None

    def __post_init__(self) -> None:
        self.http = requests.Session()
        self.http.trust_env = False  # never route loopback calls through a proxy

    def call(self, method: str, path: str, json: Any = None, expect: int | tuple[int, ...] | None = None,
             **kwargs: Any) -> tuple[int, Any]:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        resp = self.http.request(method, self.base_url + path, json=json, headers=headers,
                                 timeout=60, **kwargs)
        try:
            body: Any = resp.json()
        except ValueError:
            body = resp.content
        if expect is not None:
            allowed = (expect,) if isinstance(expect, int) else expect
            if resp.status_code not in allowed:
                raise ApiError(resp.status_code, body, method, path)
        return resp.status_code, body

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, expect=kw.pop("expect", 200), **kw)[1]

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.call("POST", path, json=json, expect=kw.pop("expect", (200, 201, 202)), **kw)[1]

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.call("PUT", path, json=json, expect=kw.pop("expect", 200), **kw)[1]

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.call("PATCH", path, json=json, expect=kw.pop("expect", 200), **kw)[1]

    def login(self, email_addr: str, password: str) -> Api:
        body = Api(self.base_url).post("/api/auth/login", {"email": email_addr, "password": password},
                                       expect=200)
        return Api(self.base_url, body["token"])

    def set_clock(self, instant: str) -> Any:
        return Api(self.base_url).post("/api/dev/clock", {"now": instant}, expect=200)


@dataclass
class Mailbox:
    """The dev SMTP sink's folder: one ``.eml`` per message."""

    folder: Path
    #: each file parsed once: a wait polls the folder ten times a second, and a test run
    #: leaves hundreds of messages in it (the sink writes each file whole, by rename)
    _parsed: dict[str, email.message.EmailMessage] = field(default_factory=dict, repr=False)

    def messages(self) -> list[email.message.EmailMessage]:
        if not self.folder.exists():
            return []
        out = []
        for path in sorted(self.folder.glob("*.eml")):
            msg = self._parsed.get(path.name)
            if msg is None:
                msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                self._parsed[path.name] = msg
            out.append(msg)
        return out

    def wait_for(self, to: str, subject_contains: str = "", timeout: float = 30.0
                 ) -> email.message.EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msg in reversed(self.messages()):
                if to.lower() in str(msg.get("To", "")).lower() and \
                        subject_contains.lower() in str(msg.get("Subject", "")).lower():
                    return msg
            time.sleep(0.1)
        raise AssertionError(f"no mail to {to} with {subject_contains!r} within {timeout}s")

    @staticmethod
    def text_of(msg: email.message.EmailMessage) -> str:
        part = msg.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""

    def set_password_token(self, to: str, subject_contains: str = "") -> str:
        # an invitation can queue behind a fan-out (a new terms version mails everyone)
        # on a loaded machine: a minute and a half, returned from as soon as it arrives
        msg = self.wait_for(to, subject_contains, timeout=90.0)
        match = re.search(r"set-password\?token=([A-Za-z0-9_\-]+)", self.text_of(msg))
        if not match:
            raise AssertionError(f"no set-password link in mail to {to}")
        return match.group(1)


def onboard(base_url: str, mailbox: Mailbox, email_addr: str, password: str,
            accept_terms: bool = True) -> Api:
    """Invitation mail → set password → login → accept the current terms."""
    token = mailbox.set_password_token(email_addr)
    Api(base_url).post("/api/auth/set-password", {"token": token, "password": password})
    api = Api(base_url).login(email_addr, password)
    if accept_terms:
        version = api.get("/api/terms/current")["version"]
        api.post("/api/terms/accept", {"version": version})
    return api


def platform_now(base_url: str) -> datetime:
    """The accounts service's clock, which checks second-factor codes (tests move the
    platform's dev clock)."""
    _, body = Api(base_url).call("GET", "/health")
    return datetime.fromisoformat(body["services"]["accounts"]["now"])


def totp_code(base_url: str, secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app holding ``secret`` shows at the platform's time
    (``steps_ahead`` periods of 30 s later: the step after a used one is accepted too)."""
    return str(pyotp.TOTP(secret).at(platform_now(base_url) + timedelta(seconds=30 * steps_ahead)))


@dataclass
class SecondFactor:
    secret: str
    recovery_codes: list[str]


def enrol_totp(api: Api) -> SecondFactor:
    """Enrol and confirm a TOTP factor for ``api``'s account with a code pyotp computes
    from the secret the platform answered; the session may then do everything."""
    started = api.post("/api/me/mfa/totp", {}, expect=200)
    confirmed = api.post("/api/me/mfa/totp/confirm",
                         {"code": totp_code(api.base_url, started["secret"])}, expect=200)
    return SecondFactor(started["secret"], confirmed["recovery_codes"])


def login_staff(base_url: str, email_addr: str, password: str) -> Api:
    """A staff or compliance session, which must hold a second factor (issue 14 §1): a
    login that answers ``mfa_enrolment_required`` enrols one at once (the dev bootstrap
    staff is exempt and logs in as before)."""
    body = Api(base_url).post("/api/auth/login", {"email": email_addr, "password": password},
                              expect=200)
    if body.get("mfa_required"):
        raise AssertionError(f"{email_addr} has a second factor: log in with login_with_totp")
    api = Api(base_url, body["token"])
    if body.get("mfa_enrolment_required"):
        enrol_totp(api)
    return api


def login_with_totp(base_url: str, email_addr: str, password: str, secret: str,
                    steps_ahead: int = 0, **kwargs: Any) -> Api:
    """Both login steps of an account with a TOTP factor."""
    body = Api(base_url).post("/api/auth/login", {"email": email_addr, "password": password},
                              expect=200, **kwargs)
    assert body.get("mfa_required"), body
    done = Api(base_url).post("/api/auth/login/mfa", {
        "challenge": body["challenge"], "code": totp_code(base_url, secret, steps_ahead)},
        expect=200, **kwargs)
    return Api(base_url, done["token"])


def pay_by_card(payment: dict[str, Any], outcome: str = "succeeded") -> None:
    """Play the cardholder on the fake provider's payment page."""
    url = payment.get("redirect_url")
    if not url:
        raise AssertionError(f"card payment without redirect_url: {payment}")
    session = requests.Session()
    session.trust_env = False
    resp = session.post(f"{url}/complete", params={"outcome": outcome},
                        headers={"Accept": "application/json"}, timeout=30)
    resp.raise_for_status()


def subscribe_by_card(api: Api, period: str = "monthly", timeout: float = 20.0,
                      kind: str | None = None) -> dict[str, Any]:
    """Subscribe and pay by card; ``kind``: the office kinds covered (absent: construction)."""
    body = {"period": period, "payment_method": "card", **({"kind": kind} if kind else {})}
    sub = api.post("/api/subscriptions", body, expect=201)
    pay_by_card(sub["payment"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        me = api.get("/api/me")
        if (me.get("subscription") or {}).get("status") == "active":
            return me["subscription"]
        time.sleep(0.1)
    raise AssertionError("subscription did not become active after the card payment")


def new_network(base_url: str, mailbox: Mailbox, name: str | None = None,
                password: str = "Correct-Horse-Battery-42", countries: list[str] | None = None,
                subscribe: str | None = None,
                admin_name: tuple[str, str] = ("Alice", "Martin")) -> tuple[dict[str, Any], Api]:
    """Create a network through staff and onboard its admin; returns (network, admin_api),
    the admin's address in ``admin_api.email``.

    Staff log in afresh for each network: a scenario that has moved the platform clock
    would find an earlier token past its idle expiry."""
    from tools.platform import DEV_STAFF  # tools.platform is the heavier import

    tag = uuid.uuid4().hex[:8]
    admin_email = f"admin-{tag}@example.org"
    staff = Api(base_url).login(*DEV_STAFF)
    net = staff.post("/api/networks", {"name": name or f"Réseau {tag}", "admin": {
        "email": admin_email, "first_name": admin_name[0], "last_name": admin_name[1]}},
        expect=201)
    admin = onboard(base_url, mailbox, admin_email, password)
    admin.email = admin_email  # type: ignore[attr-defined]
    if countries:
        admin.put("/api/network/settings", {"open_countries": countries})
    if subscribe:
        subscribe_by_card(admin, subscribe)
    return net, admin


def new_member(base_url: str, mailbox: Mailbox, admin: Api,
               password: str = "Distinct-Violet-Pass-77",
               accept_terms: bool = True) -> tuple[dict[str, Any], Api]:
    """Invite a member into ``admin``'s network and onboard them; returns (member row,
    member_api), the member's address in ``member_api.email``."""
    member_email = f"member-{uuid.uuid4().hex[:8]}@example.org"
    member = admin.post("/api/network/members", {"email": member_email, "first_name": "Bruno",
                                                 "last_name": "Durand"}, expect=201)
    api = onboard(base_url, mailbox, member_email, password, accept_terms=accept_terms)
    api.email = member_email  # type: ignore[attr-defined]
    return member, api
