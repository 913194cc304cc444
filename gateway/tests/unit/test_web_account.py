"""Mon compte and the dashboard's reminders, without a platform: the routes run on fakes
of the services (the same RPCs as the JSON API), so what a page sends, shows and refuses is
checked here; ``tests/browser/test_account_journey.py`` walks them in a browser."""
from __future__ import annotations

import base64
from types import SimpleNamespace
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

import gateway.service  # noqa: F401  (registers every route)
from gateway.routes import mailer_google
from gateway.web import http as web
from gateway.web.routes.account import WebAccountRoutes
from gateway.web.routes.office import WebOfficeRoutes
from suivi_common.errors import Forbidden, Invalid, NotFound

SUB = {"id": "s1", "status": "active", "period": "monthly", "amount_cents": 2900,
       "starts_on": "2026-11-10", "ends_on": "2026-12-09", "renewal_due": True}


class Fake:
    """A service whose every RPC is recorded; ``answers`` and ``refuse`` shape them."""

    def __init__(self, **answers: Any) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.answers = answers
        self.refuse: dict[str, Exception] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)

        def call(*args: Any) -> Any:
            self.calls.append((name, args))
            if name in self.refuse:
                raise self.refuse[name]
            return self.answers.get(name, {})
        return call

    def called(self, name: str) -> list[tuple[Any, ...]]:
        return [args for n, args in self.calls if n == name]


class Service(WebAccountRoutes, WebOfficeRoutes):
    def __init__(self) -> None:
        self.accounts = Fake(
            get_me={"id": "u1", "role": "user", "email": "bruno@example.org",
                    "first_name": "Bruno", "last_name": "Durand", "phone": None,
                    "subscription": SUB, "privacy": {"admin_access": True},
                    "mfa": {"active": False}},
            get_network={"name": "Soleil", "announcement": None},
            start_mfa_enrolment={"secret": "JBSWY3DPEHPK3PXPJBSWY3DP",
                                 "otpauth_uri": "otpauth://totp/Suivi:bruno?secret=JBSW",
                                 "qr_svg": "<svg xmlns='http://www.w3.org/2000/svg'></svg>"},
            confirm_mfa_enrolment={"active": True, "recovery_codes": ["aaaa-bbbb", "cccc-dddd"]})
        self.plans = Fake(list_plans={"items": []})
        self.leads = Fake(office_stale_leads={"inactive_since": "2025-12-04", "months": 12,
                                              "count": 3})
        self.mailer = Fake(google_status={"linked": False, "can_send": False, "address": None},
                           google_authorize={"url": "https://accounts.google.test/o?state=s",
                                             "binding": "b1nd", "expires_in": 600})
        self.compliance = Fake()
        self.compliance.refuse["my_end_of_contract"] = NotFound("No end of contract")
        self.dispatched: list[tuple[str, dict[str, Any]]] = []
        self.auth = SimpleNamespace(require_token=lambda token, **kw: (
            SimpleNamespace(role="user", user_id="u1"), token))

    def dispatch(self, event: str, payload: dict[str, Any]) -> None:
        self.dispatched.append((event, payload))


@pytest.fixture
def svc(monkeypatch: pytest.MonkeyPatch) -> Service:
    monkeypatch.setattr("gateway.web.routes.account.evict_user", lambda user_id: None)
    return Service()


def call(svc: Service, handler: Any, method: str = "GET", path: str = "/web/account",
         data: dict[str, Any] | None = None, csrf: bool = True,
         query: str = "") -> Response:
    cookies = f"{web.SESSION_COOKIE}=tok; {web.CSRF_COOKIE}=c5; {web.LANG_COOKIE}=fr"
    form = dict(data or {})
    if method == "POST" and csrf:
        form["csrf"] = "c5"
    request = Request(EnvironBuilder(method=method, base_url="http://127.0.0.1:8000/", path=path,
                                     query_string=query, data=form or None,
                                     headers={"Cookie": cookies}).get_environ())
    return handler(svc, request)


def text(response: Response) -> str:
    return response.get_data(as_text=True)


# --- the dashboard's reminders ------------------------------------------------------------

def test_the_dashboard_reminds_of_the_ending_subscription_and_the_stale_leads(
        svc: Service) -> None:
    html = text(call(svc, Service.web_dashboard, path="/web/"))
    assert 'id="reminder-subscription"' in html and "2026-12-09" in html
    assert 'href="/web/subscription"' in html
    assert 'id="reminder-stale"' in html
    assert 'href="/web/office?inactive_since=2025-12-04"' in html
    assert svc.leads.called("office_stale_leads") == [()]


def test_no_reminder_when_the_services_say_nothing_is_due(svc: Service) -> None:
    svc.accounts.answers["get_me"] = {**svc.accounts.answers["get_me"],
                                      "subscription": {**SUB, "renewal_due": False}}
    svc.leads.answers["office_stale_leads"] = {"inactive_since": "2025-12-04", "count": 0}
    html = text(call(svc, Service.web_dashboard, path="/web/"))
    assert "reminder-subscription" not in html and "reminder-stale" not in html
    assert "Rien à vous rappeler." in html


def test_a_closed_office_has_no_stale_reminder_and_the_page_still_shows(svc: Service) -> None:
    svc.leads.refuse["office_stale_leads"] = Forbidden("office inactive", code="office_inactive")
    response = call(svc, Service.web_dashboard, path="/web/")
    assert response.status_code == 200 and "reminder-stale" not in text(response)


# --- the second factor ----------------------------------------------------------------------

def test_mfa_enrolment_shows_the_qr_as_an_image_then_the_recovery_codes(svc: Service) -> None:
    started = call(svc, Service.web_account_mfa_start, "POST", "/web/account/mfa/start")
    html = text(started)
    svg = base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>").decode()
    assert f'src="data:image/svg+xml;base64,{svg}"' in html
    assert "<svg" not in html.split("<main", 1)[-1]  # never inline (styles, CSP)
    assert "JBSW Y3DP EHPK 3PXP JBSW Y3DP" in html and 'id="mfa-confirm-form"' in html
    done = call(svc, Service.web_account_mfa_confirm, "POST", "/web/account/mfa/confirm",
                {"code": " 123456 "})
    assert svc.accounts.called("confirm_mfa_enrolment") == [("123456",)]
    assert "aaaa-bbbb" in text(done) and "cccc-dddd" in text(done)
    assert svc.dispatched == [("principal_changed", {"user_id": "u1"})]


def test_a_wrong_code_is_shown_beside_its_field(svc: Service) -> None:
    svc.accounts.refuse["confirm_mfa_enrolment"] = Invalid(
        "Wrong code", fields={"code": "not the current code"}, code="mfa_code_invalid")
    response = call(svc, Service.web_account_mfa_confirm, "POST", "/web/account/mfa/confirm",
                    {"code": "000000"})
    html = text(response)
    assert response.status_code == 400
    assert 'id="code-error"' in html and "Ce code est faux" in html
    assert 'aria-invalid="true"' in html


def test_an_active_factor_offers_new_codes_and_removal(svc: Service) -> None:
    svc.accounts.answers["get_me"]["mfa"] = {"active": True}
    html = text(call(svc, Service.web_account))
    assert 'id="mfa-codes-form"' in html and 'id="mfa-remove-form"' in html
    assert 'id="mfa-start"' not in html
    done = call(svc, Service.web_account_mfa_remove, "POST", "/web/account/mfa/remove",
                {"current_password": "pw", "code": "123456"})
    assert done.status_code == 303
    assert [args[:2] for args in svc.accounts.called("remove_own_mfa")] == [("pw", "123456")]


# --- Gmail ------------------------------------------------------------------------------------

def test_linking_gmail_sets_the_binding_cookie_and_links_to_google(svc: Service) -> None:
    response = call(svc, Service.web_account_gmail_link, "POST", "/web/account/gmail/link")
    html = text(response)
    assert 'href="https://accounts.google.test/o?state=s"' in html
    cookie = [c for c in response.headers.getlist("Set-Cookie")
              if c.startswith(f"{mailer_google.COOKIE}=")]
    assert cookie and "b1nd" in cookie[0] and f"Path={mailer_google.COOKIE_PATH}" in cookie[0]
    assert "HttpOnly" in cookie[0]


def test_the_callbacks_page_forwards_to_my_account_with_the_outcome(svc: Service) -> None:
    linked = call(svc, Service.web_gmail_outcome, path="/settings/gmail", query="gmail=linked")
    assert linked.status_code == 303 and linked.headers["Location"] == "/web/account#gmail-title"
    assert "gmail_linked" in " ".join(linked.headers.getlist("Set-Cookie"))
    refused = call(svc, Service.web_gmail_outcome, path="/settings/gmail",
                   query="gmail=error&reason=access_denied")
    assert "gmail_refused" in " ".join(refused.headers.getlist("Set-Cookie"))


def test_a_linked_gmail_shows_its_address_and_unlinks(svc: Service) -> None:
    svc.mailer.answers["google_status"] = {"linked": True, "can_send": True,
                                           "address": "bruno@gmail.test"}
    html = text(call(svc, Service.web_account))
    assert "bruno@gmail.test" in html and 'id="gmail-unlink"' in html
    assert 'id="gmail-link"' not in html
    done = call(svc, Service.web_account_gmail_unlink, "POST", "/web/account/gmail/unlink")
    assert done.status_code == 303 and svc.mailer.called("google_unlink") == [()]


# --- termination ------------------------------------------------------------------------------

def test_termination_asks_first_and_offers_the_data(svc: Service) -> None:
    html = text(call(svc, Service.web_account_terminate_confirm, path="/web/account/terminate"))
    assert 'href="/web/office/export.xlsx"' in html and 'id="terminate-form"' in html
    assert "eoc-archive" not in html  # compliance prepared no archive
    assert svc.accounts.called("terminate") == []
    svc.compliance.refuse.clear()
    svc.compliance.answers["my_end_of_contract"] = {
        "status": "ready", "archive": {"available": True, "filename": "a.zip", "size": 9}}
    html = text(call(svc, Service.web_account_terminate_confirm, path="/web/account/terminate"))
    assert 'href="/web/account/end-of-contract/archive"' in html


def test_termination_without_the_box_ticked_changes_nothing(svc: Service) -> None:
    response = call(svc, Service.web_account_terminate, "POST", "/web/account/terminate")
    assert response.status_code == 400 and 'id="confirm-error"' in text(response)
    assert svc.accounts.called("terminate") == []


def test_termination_ends_the_session_and_says_so_on_the_login_page(svc: Service) -> None:
    response = call(svc, Service.web_account_terminate, "POST", "/web/account/terminate",
                    {"confirm": "1"})
    assert response.status_code == 303 and response.headers["Location"] == "/web/login"
    assert svc.accounts.called("terminate") == [()]
    cookies = " ".join(response.headers.getlist("Set-Cookie"))
    assert f"{web.SESSION_COOKIE}=;" in cookies and "account_terminated" in cookies
    assert svc.dispatched == [("principal_changed", {"user_id": "u1"})]


@pytest.mark.parametrize("handler,path", [
    (Service.web_account_terminate, "/web/account/terminate"),
    (Service.web_account_gmail_link, "/web/account/gmail/link"),
    (Service.web_account_mfa_start, "/web/account/mfa/start"),
])
def test_every_form_needs_its_csrf_token(svc: Service, handler: Any, path: str) -> None:
    response = call(svc, handler, "POST", path, {"confirm": "1"}, csrf=False)
    assert response.status_code == 403
    assert not svc.accounts.called("terminate") and not svc.mailer.called("google_authorize")
    assert not svc.accounts.called("start_mfa_enrolment")


def test_a_ready_archive_is_offered_then_its_receipt_confirmed(svc: Service) -> None:
    svc.compliance.refuse.clear()
    svc.compliance.answers["my_end_of_contract"] = {
        "status": "ready", "archive": {"available": True, "filename": "a.zip", "size": 9}}
    svc.compliance.answers["my_end_of_contract_archive"] = {
        "content_b64": base64.b64encode(b"PK\x03\x04").decode(), "filename": "a.zip",
        "content_type": "application/zip"}
    archive = call(svc, Service.web_account_archive, path="/web/account/end-of-contract/archive")
    assert archive.get_data() == b"PK\x03\x04"
    assert 'filename="a.zip"' in archive.headers["Content-Disposition"]
    unticked = call(svc, Service.web_account_archive_receipt, "POST",
                    "/web/account/end-of-contract/receipt")
    assert unticked.status_code == 400 and 'id="received-error"' in text(unticked)
    assert svc.compliance.called("confirm_end_of_contract_receipt") == []
    done = call(svc, Service.web_account_archive_receipt, "POST",
                "/web/account/end-of-contract/receipt", {"received": "1"})
    assert done.status_code == 303
    assert svc.compliance.called("confirm_end_of_contract_receipt") == [()]
