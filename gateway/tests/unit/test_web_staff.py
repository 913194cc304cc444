"""The staff and compliance pages' rules that need no platform: the forms reach the JSON
routes' schemas as their bodies, the stock chart's bars, the fan-out's progress, the
statuses' labels in French, and every page rendered over fake services (role refused
before any call, CSRF on every form, the services' refusals readable on the page); and
the two JSON routes added for them (account search, terms versions)."""
from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.routes.staff import StaffRoutes
from gateway.schemas.compliance import SubprocessorChangeIn
from gateway.schemas.plans import ClosureIn
from gateway.web import http as web
from gateway.web.http import validated
from gateway.web.i18n import translations
from gateway.web.routes.compliance import (
    WebComplianceRoutes,
    change_body,
    notices_total,
    progress_percent,
)
from gateway.web.routes.staff import (
    STATUS_LABELS,
    WebStaffRoutes,
    closure_form,
    stock_chart,
)
from suivi_common.errors import Conflict, Forbidden, Invalid, Unauthorized

CSRF = "token-of-the-test"
NOW = "2026-12-03T10:00:00+00:00"


# --- pure rules ------------------------------------------------------------------------------

def test_the_stock_chart_scales_the_longest_bar_to_the_width() -> None:
    stock = [{"country": "FR", "tier": "premium", "available": 50, "demand_today": 3,
              "short": False},
             {"country": "BE", "tier": "standard", "available": 0, "demand_today": 2,
              "short": True}]
    forecast = [{"date": "2026-12-03", "country": "FR", "tier": "premium", "records": 60},
                {"date": "2026-12-04", "country": "FR", "tier": "premium", "records": 40},
                {"date": "2026-12-03", "country": "DE", "tier": "standard", "records": 1}]
    rows = stock_chart(stock, forecast, width=400)
    assert [(r["country"], r["tier"]) for r in rows] == [
        ("BE", "standard"), ("DE", "standard"), ("FR", "premium")]
    be, de, fr = rows
    assert (fr["available"], fr["expected"]) == (50, 100)
    assert (fr["available_width"], fr["expected_width"]) == (200, 400)
    assert fr["short_of_forecast"] and not fr["short"]
    assert (be["available_width"], be["expected_width"], be["short"]) == (0, 0, True)
    assert de["expected_width"] == 4 and de["available"] == 0  # in demand, not in stock
    assert stock_chart([], []) == []
    tiny = stock_chart([{"country": "FR", "tier": "premium", "available": 1}],
                       [{"country": "FR", "tier": "premium", "records": 10_000}])
    assert tiny[0]["available_width"] == 1  # a figure above zero stays visible


def test_the_closure_form_is_the_json_routes_body() -> None:
    body = closure_form(MultiDict([("start_date", "2026-12-10"), ("end_date", "2026-12-12"),
                                   ("countries", "fr, be\nDe"), ("tiers", "premium"),
                                   ("reason", " stock épuisé ")]))
    assert body == {"start_date": "2026-12-10", "end_date": "2026-12-12",
                    "countries": ["FR", "BE", "DE"], "tiers": ["premium"],
                    "reason": "stock épuisé"}
    loaded = validated(ClosureIn, body)
    assert loaded["countries"] == ["FR", "BE", "DE"] and loaded["tiers"] == ["premium"]
    everything = closure_form(MultiDict([("start_date", "2026-12-10"),
                                         ("end_date", "2026-12-10")]))
    assert "countries" not in everything and "tiers" not in everything
    with pytest.raises(Invalid) as err:
        validated(ClosureIn, closure_form(MultiDict([("start_date", "soon")])))
    assert set(err.value.fields) >= {"start_date", "end_date"}


def test_the_subprocessor_form_is_the_json_routes_body() -> None:
    form = MultiDict({"kind": "replace", "name": "Hébergeur B", "contact": "dpo@b.example",
                      "activity": "Hébergement", "country": "fr",
                      "contract_start": "2027-01-01", "contract_end": "",
                      "replaces": "sp-1", "effective_from": "2027-02-01T09:00"})
    body = change_body(form)
    assert body["country"] == "FR" and "contract_end" not in body
    assert body["effective_from"] == "2027-02-01T09:00:00+01:00"  # Paris time, with offset
    loaded = validated(SubprocessorChangeIn, body)
    assert loaded["replaces"] == "sp-1" and loaded["kind"] == "replace"
    with pytest.raises(Invalid):
        validated(SubprocessorChangeIn, change_body(MultiDict({"kind": "remove"})))


def test_progress_is_a_bounded_percentage() -> None:
    assert progress_percent(3, 4) == 75
    assert progress_percent(0, 0) == 100  # nothing to send: done
    assert progress_percent(9, 4) == 100 and progress_percent(-1, 4) == 0
    assert progress_percent(None, "x") == 0
    assert notices_total({"sent": 1, "failed": 2, "requested": 3}) == 6


def test_the_statuses_read_in_french() -> None:
    fr = translations("fr")
    for value, label in STATUS_LABELS.items():
        assert fr.gettext(label) != value or value == label == "", value
    assert fr.gettext(STATUS_LABELS["pending"]) == "en attente"


# --- the pages over fake services ------------------------------------------------------------

class Fake:
    """Records every call; answers from ``answers`` (a callable or a value) or raises."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> Any:
            self.calls.append((name, args))
            answer = self.answers[name]
            if isinstance(answer, Exception):
                raise answer
            return answer(*args) if callable(answer) else answer
        return call

    def __getitem__(self, name: str) -> Any:
        """``client[method].call_async(...)``, as the cross-service listing asks."""
        method = getattr(self, name)
        return SimpleNamespace(call_async=lambda *args: SimpleNamespace(
            result=lambda: method(*args)))


class FakeAuth:
    def __init__(self, role: str | None) -> None:
        self.role = role

    def require_token(self, token: str | None, roles: tuple[str, ...] = (),
                      terms_gate: bool = True) -> tuple[Any, str]:
        if self.role is None or token is None:
            raise Unauthorized("no session", code="token_missing")
        if roles and self.role not in roles:
            raise Forbidden("not for you", code="forbidden_role")
        return SimpleNamespace(role=self.role, user_id="me", is_member=False), token


BREACH = {"id": "b1", "stage": "initial", "nature": "Fuite <b>", "detected_at": NOW,
          "declared_at": NOW, "data_categories": [{"label": "identité"}], "services": ["leads"],
          "likely_consequences": "c", "measures_taken": "m", "count_error": None,
          "countdown": {"seconds_remaining": 36 * 3600, "overdue": False,
                        "deadline_at": "2026-12-06T10:00:00+00:00"},
          "progress": {"controllers": 4, "persons": 10, "records": 12, "answered": 1,
                       "authority_approved": 1, "subjects_approved": 0,
                       "notices": {"sent": 3, "failed": 0, "requested": 1}},
          "updates": []}


def services() -> dict[str, Fake]:
    return {
        "accounts": Fake({
            "list_networks": {"items": [{"name": "Réseau", "members": 2, "open_countries": ["FR"],
                                         "created_at": NOW}]},
            "find_users": lambda q: {"items": [{
                "id": "u1", "role": "user", "status": "suspended", "network_id": "n1",
                "email": q, "first_name": "<i>Ann</i>", "last_name": "B", "created_at": NOW,
                "status_changed_at": NOW}] if "@" in q else [], "next_cursor": None},
            "suspend_user": {"id": "u1", "status": "suspended"},
            "reactivate_user": {"id": "u1", "status": "active"},
            "list_terms": {"items": [{"version": "2026-01", "published_at": NOW,
                                      "characters": 1200, "current": True}]},
            "publish_terms": {"version": "v2", "text": "t", "published_at": NOW},
            "list_payments": {"items": [{"id": "p1", "created_at": NOW, "order_type": "plan",
                                         "order_id": "o1", "method": "transfer",
                                         "amount_cents": 1000, "user_id": "u1",
                                         "status": "pending"}]},
            "list_dead_letters": [],
        }),
        "leads": Fake({
            "refund_claims_staff": {"items": [{"id": "cl1", "reason": "fake_record",
                                               "status": "pending", "created_at": NOW,
                                               "user_id": "u1", "plan_id": "p1",
                                               "comment": "<x>", "checks": {"names": "odd"},
                                               "lead": {"email": "a@b.example"}}]},
            "stock_levels": {"items": [{"country": "FR", "tier": "premium", "available": 5,
                                        "demand_today": 2, "short": False}]},
            "list_capture_sites": [{"id": "s1", "name": "Site <x>", "url": "https://a.example",
                                    "key_prefix": "lck_ab", "created_at": NOW,
                                    "revoked_at": None}],
            "create_capture_site": {"id": "s2", "name": "Nouveau", "url": "https://b.example",
                                    "key_prefix": "lck_cd", "created_at": NOW,
                                    "revoked_at": None, "key": "lck_cd-secret"},
            "revoke_capture_site": {"id": "s1"},
            "list_dead_letters": [{"id": "d1", "queue": "q", "handler": "on_x",
                                   "message_id": "m", "payload": {}, "error": "boom",
                                   "attempts": 5, "failed_at": NOW, "replayed_at": None}],
            "replay_dead_letter": {"id": "d1", "replayed": True},
        }),
        "plans": Fake({
            "staff_list_absences": {"items": [{"id": "a1", "kind": "force_majeure",
                                               "status": "approved", "start_date": "2026-12-01",
                                               "end_date": "2026-12-05", "user_id": "u1",
                                               "plan_id": None, "reason": "<x>",
                                               "details": None, "proof": None,
                                               "decided_on": "2026-12-02",
                                               "staff_comment": None}]},
            "forecast": {"from_date": "2026-12-03", "days": 14, "total": 30, "active_plans": 2,
                         "items": [{"date": "2026-12-03", "country": "FR", "tier": "premium",
                                    "records": 30}], "per_day": []},
            "list_sales_closures": {"items": [{"id": "c1", "start_date": "2026-12-10",
                                               "end_date": "2026-12-11", "countries": [],
                                               "tiers": ["premium"], "reason": "r",
                                               "plans_affected": 3}]},
            "declare_sales_closure": Conflict("Overlaps another closure", code="closure_overlap"),
            "list_dead_letters": [],
        }),
        "mailer": Fake({"list_dead_letters": []}),
        "compliance": Fake({
            "list_dead_letters": [],
            "get_breach": BREACH,
            "list_breaches": {"items": [BREACH]},
            "breach_controllers": {"items": []},
            "subprocessor_registry": {"items": [{"id": "sp-1", "name": "Hébergeur A",
                                                 "contact": "c", "activity": "a",
                                                 "country": "FR", "contract_start": "2026-01-01",
                                                 "contract_end": None, "status": "active",
                                                 "effective_from": None}]},
            "subprocessor_changes": {"items": [{"id": "ch1", "kind": "add",
                                                "subprocessor_id": "sp-1", "replaces_id": None,
                                                "notice_sent_at": NOW, "effective_from": NOW,
                                                "in_effect": False, "objections": 1}]},
            "subprocessor_objections": {"items": [{"user_id": "u9", "network_id": None,
                                                   "reason": "non <merci>",
                                                   "created_at": NOW}]},
            "announce_subprocessor_change": {"id": "ch2"},
            "processing_register": {"generated_at": NOW, "processor": {
                "name": "Suivi", "dpo": {"name": None, "email": None}},
                "controllers": {"description": "Les utilisateurs", "count": 3},
                "processing_on_behalf_of_controllers": {"purpose": "p", "operations": ["o"],
                                                        "data_categories": ["d"]},
                "activities": [{"service": "leads", "name": "Stock", "role": "processor",
                                "purposes": ["x"], "legal_basis": "contrat",
                                "categories": ["identité"], "retention": "3 ans",
                                "recipients": ["r"]}],
                "subprocessors": [], "security_measures": ["chiffrement"],
                "declared_by": ["leads"], "missing": {"dpo": "DPO_NAME is not set"}},
            "audit_log": {"items": [{"seq": 2, "recorded_at": NOW, "kind": "user.suspended",
                                     "actor": {"role": "staff"}, "subject": {"user_id": "u1"},
                                     "details": {}, "prev_hash": "a", "hash": "b" * 64}],
                          "next_cursor": "c2"},
            "audit_verify": {"ok": False, "entries_checked": 2, "head": {"seq": 2, "hash": "b"},
                             "problem": {"seq": 2, "problem": "hash_mismatch", "detail": "edited"},
                             "verified_at": NOW},
        }),
    }


class Routes(WebStaffRoutes, WebComplianceRoutes):
    def __init__(self, role: str | None) -> None:
        self.auth = FakeAuth(role)
        self.dispatched: list[tuple[str, Any]] = []
        for name, fake in services().items():
            setattr(self, name, fake)

    def dispatch(self, event: str, payload: Any) -> None:
        self.dispatched.append((event, payload))


def request(method: str, path: str, form: dict[str, Any] | None = None,
            csrf: bool = True, session: bool = True) -> Request:
    cookies = [f"{web.LANG_COOKIE}=fr"]
    if session:
        cookies.append(f"{web.SESSION_COOKIE}=tok")
    if csrf:
        cookies.append(f"{web.CSRF_COOKIE}={CSRF}")
    data = dict(form or {})
    if method == "POST" and csrf:
        data.setdefault("csrf", CSRF)
    path, _, query = path.partition("?")
    return Request(EnvironBuilder(method=method, base_url="http://127.0.0.1:8000/", path=path,
                                  query_string=query, data=data if method == "POST" else None,
                                  headers={"Cookie": "; ".join(cookies)}).get_environ())


def call(routes: Routes, handler: Any, req: Request, **path: str) -> tuple[int, str, Any]:
    response = handler(routes, req, **path)
    return response.status_code, response.get_data(as_text=True), response


STAFF_PAGES = [
    ("/web/staff", WebStaffRoutes.web_staff_payments),
    ("/web/staff/claims", WebStaffRoutes.web_staff_claims),
    ("/web/staff/absences?status=approved", WebStaffRoutes.web_staff_absences),
    ("/web/staff/stock", WebStaffRoutes.web_staff_stock),
    ("/web/staff/capture-sites", WebStaffRoutes.web_staff_sites),
    ("/web/staff/users?q=ann@example.org", WebStaffRoutes.web_staff_users),
    ("/web/staff/terms", WebStaffRoutes.web_staff_terms),
    ("/web/staff/dead-letters", WebStaffRoutes.web_staff_dead_letters),
]
COMPLIANCE_PAGES = [
    ("/web/compliance/breaches", WebComplianceRoutes.web_compliance_breaches, {}),
    ("/web/compliance/breaches/b1", WebComplianceRoutes.web_compliance_breach, {"breach_id": "b1"}),
    ("/web/compliance/subprocessors", WebComplianceRoutes.web_compliance_subprocessors, {}),
    ("/web/compliance/subprocessors/changes/ch1", WebComplianceRoutes.web_compliance_objections,
     {"change_id": "ch1"}),
    ("/web/compliance/register", WebComplianceRoutes.web_compliance_register_of_activities, {}),
    ("/web/compliance/audit", WebComplianceRoutes.web_compliance_audit, {}),
    ("/web/compliance/audit/verify", WebComplianceRoutes.web_compliance_audit_verify, {}),
]


def assert_forms_carry_csrf(html: str) -> None:
    for form in re.findall(r"<form[^>]*method=\"post\"[^>]*>.*?</form>", html, re.S):
        assert f'name="csrf" value="{CSRF}"' in form, form[:200]


@pytest.mark.parametrize("path,handler", STAFF_PAGES)
def test_every_staff_page_renders_escaped_with_csrf(path: str, handler: Any) -> None:
    status, html, _ = call(Routes("staff"), handler, request("GET", path))
    assert status == 200, html[:2000]
    assert "<x>" not in html and "<i>Ann" not in html  # autoescaped
    assert_forms_carry_csrf(html)
    assert 'href="/web/staff/dead-letters"' in html  # the staff menu
    assert "style=" not in html


@pytest.mark.parametrize("path,handler,args", COMPLIANCE_PAGES)
def test_every_compliance_page_renders_escaped(path: str, handler: Any,
                                               args: dict[str, str]) -> None:
    status, html, _ = call(Routes("compliance"), handler, request("GET", path), **args)
    assert status == 200, html[:2000]
    assert "<merci>" not in html and "Fuite <b>" not in html
    assert_forms_carry_csrf(html)
    assert 'href="/web/compliance/audit"' in html


@pytest.mark.parametrize("path,handler", STAFF_PAGES[1:])
def test_staff_pages_refuse_other_roles_before_any_call(path: str, handler: Any) -> None:
    routes = Routes("compliance")
    status, html, _ = call(routes, handler, request("GET", path))
    assert status == 403
    assert all(not fake.calls for fake in (routes.accounts, routes.leads, routes.plans))
    status, _, response = call(Routes(None), handler, request("GET", path, session=False))
    assert status == 303 and "/web/login?next=" in response.headers["Location"]


def test_compliance_pages_refuse_staff() -> None:
    routes = Routes("staff")
    for path, handler, args in COMPLIANCE_PAGES:
        status, _, _ = call(routes, handler, request("GET", path), **args)
        assert status == 403, path
    assert not routes.compliance.calls


def test_the_status_filter_shows_labels_not_values() -> None:
    _, html, _ = call(Routes("staff"), WebStaffRoutes.web_staff_payments,
                      request("GET", "/web/staff"))
    assert '<option value="pending" selected>en attente</option>' in html
    assert ">pending<" not in html


def test_the_stock_page_draws_bars_for_stock_and_forecast() -> None:
    _, html, _ = call(Routes("staff"), WebStaffRoutes.web_staff_stock,
                      request("GET", "/web/staff/stock"))
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert 'role="img"' in svg and "<title" in svg
    assert svg.count('height="16"') == 2  # FR premium: 5 in stock, 30 expected
    assert 'width="400"' in svg and 'width="67"' in svg
    assert "<script" not in svg


def test_a_post_without_csrf_is_refused_and_calls_nothing() -> None:
    routes = Routes("staff")
    status, html, _ = call(routes, WebStaffRoutes.web_staff_site_create,
                           request("POST", "/web/staff/capture-sites",
                                   {"name": "x", "url": "https://x.example"}, csrf=False))
    assert status == 403 and not routes.leads.calls


def test_a_new_capture_sites_key_is_shown_once_on_the_answer() -> None:
    routes = Routes("staff")
    status, html, _ = call(routes, WebStaffRoutes.web_staff_site_create,
                           request("POST", "/web/staff/capture-sites",
                                   {"name": " Nouveau ", "url": "https://b.example"}))
    assert status == 201 and "lck_cd-secret" in html
    assert ("create_capture_site", ("Nouveau", "https://b.example")) in routes.leads.calls
    status, html, _ = call(routes, WebStaffRoutes.web_staff_site_create,
                           request("POST", "/web/staff/capture-sites",
                                   {"name": "", "url": "not a url"}))
    assert status == 400 and 'id="url-error"' in html and 'id="name-error"' in html


def test_a_refused_closure_is_readable_on_the_page() -> None:
    routes = Routes("staff")
    status, html, _ = call(routes, WebStaffRoutes.web_staff_close_sales,
                           request("POST", "/web/staff/sales-closures", {
                               "start_date": "2026-12-10", "end_date": "2026-12-11",
                               "countries": "fr", "reason": "stock"}))
    assert status == 409 and "Overlaps another closure" in html
    assert 'value="fr"' in html  # the form keeps what was typed
    assert routes.plans.calls[0] == ("declare_sales_closure",
                                     ("2026-12-10", "2026-12-11", ["FR"], None, "stock"))


def test_terms_are_published_only_once_confirmed() -> None:
    routes = Routes("staff")
    form = {"version": "2026-12", "text": "Nouvelles conditions"}
    status, html, _ = call(routes, WebStaffRoutes.web_staff_terms_publish,
                           request("POST", "/web/staff/terms", form))
    assert status == 400 and 'id="confirm-error"' in html
    assert not [c for c in routes.accounts.calls if c[0] == "publish_terms"]
    status, _, response = call(routes, WebStaffRoutes.web_staff_terms_publish,
                               request("POST", "/web/staff/terms", {**form, "confirm": "1"}))
    assert status == 303 and response.headers["Location"] == "/web/staff/terms"
    assert ("publish_terms", ("2026-12", "Nouvelles conditions")) in routes.accounts.calls


def test_a_found_account_is_suspended_and_its_principal_evicted() -> None:
    routes = Routes("staff")
    status, html, _ = call(routes, WebStaffRoutes.web_staff_user_action,
                           request("POST", "/web/staff/users?q=ann@example.org",
                                   {"user_id": "u1", "action": "suspend"}))
    assert status == 200 and 'id="user-result"' in html and "suspendu" in html
    assert ("principal_changed", {"user_id": "u1"}) in routes.dispatched
    assert ("find_users", ("ann@example.org",)) in routes.accounts.calls
    _, html, _ = call(routes, WebStaffRoutes.web_staff_users,
                      request("GET", "/web/staff/users?q=nobody"))
    assert 'id="no-user"' in html


def test_a_dead_letter_is_replayed_on_its_own_service_only() -> None:
    routes = Routes("staff")
    status, _, _ = call(routes, WebStaffRoutes.web_staff_replay,
                        request("POST", "/web/staff/dead-letters/leads/d1/replay"),
                        service="leads", letter_id="d1")
    assert status == 303 and ("replay_dead_letter", ("d1",)) in routes.leads.calls
    status, _, _ = call(routes, WebStaffRoutes.web_staff_replay,
                        request("POST", "/web/staff/dead-letters/nope/d1/replay"),
                        service="nope", letter_id="d1")
    assert status == 404


def test_the_breach_page_shows_the_countdown_and_the_fan_out() -> None:
    _, html, _ = call(Routes("compliance"), WebComplianceRoutes.web_compliance_breach,
                      request("GET", "/web/compliance/breaches/b1"), breach_id="b1")
    assert '<progress id="deadline-used" max="100" value="50">' in html
    assert '<progress id="notices-sent" max="100" value="75">' in html
    assert "36 h 0 min" in html
    assert "3 / 4 (75 %)" in html  # requested: still on their way


def test_a_broken_chain_is_shown_as_an_alert() -> None:
    _, html, _ = call(Routes("compliance"), WebComplianceRoutes.web_compliance_audit_verify,
                      request("GET", "/web/compliance/audit/verify"))
    assert 'role="alert" id="verification"' in html and "hash_mismatch" in html
    assert 'href="/web/compliance/audit?cursor=c2"' in html


def test_a_subprocessor_change_reaches_the_service_as_the_json_route_sends_it() -> None:
    routes = Routes("compliance")
    status, _, _ = call(routes, WebComplianceRoutes.web_compliance_announce,
                        request("POST", "/web/compliance/subprocessors/changes", {
                            "kind": "add", "name": "Courrier C", "contact": "c@c.example",
                            "activity": "Envoi", "country": "de",
                            "contract_start": "2027-01-01", "contract_end": "",
                            "replaces": "", "effective_from": "2027-02-01T09:00"}))
    assert status == 303
    name, (change,) = routes.compliance.calls[-1]
    assert name == "announce_subprocessor_change"
    assert change["country"] == "DE" and change["contract_end"] is None
    assert change["effective_from"] == "2027-02-01T09:00:00+01:00"
    status, html, _ = call(routes, WebComplianceRoutes.web_compliance_announce,
                           request("POST", "/web/compliance/subprocessors/changes",
                                   {"kind": "add"}))
    assert status == 400 and 'id="name-error"' in html


# --- the JSON routes added for these pages ---------------------------------------------------

class ApiRoutes(StaffRoutes):
    def __init__(self, role: str) -> None:
        self.role = role
        self.accounts = services()["accounts"]
        self.auth = SimpleNamespace(require=self._require)

    def _require(self, request: Request, roles: tuple[str, ...] = (), **_: Any) -> Any:
        if roles and self.role not in roles:
            raise Forbidden("not for you", code="forbidden_role")
        return SimpleNamespace(role=self.role), "tok"


def api_get(path: str) -> Request:
    path, _, query = path.partition("?")
    return Request(EnvironBuilder(method="GET", path=path, query_string=query).get_environ())


def test_the_account_search_route_asks_accounts_with_the_query() -> None:
    routes = ApiRoutes("staff")
    response = StaffRoutes.find_users(routes, api_get("/api/staff/users?q=ann@example.org"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["items"][0]["email"] == "ann@example.org" and body["next_cursor"] is None
    assert routes.accounts.calls == [("find_users", ("ann@example.org",))]
    with pytest.raises(Invalid):
        StaffRoutes.find_users(routes, api_get("/api/staff/users?q="))
    with pytest.raises(Forbidden):
        StaffRoutes.find_users(ApiRoutes("admin"), api_get("/api/staff/users?q=a@b.example"))


def test_the_terms_versions_route_lists_them() -> None:
    routes = ApiRoutes("staff")
    body = StaffRoutes.list_terms(routes, api_get("/api/staff/terms?limit=5")).get_json()
    assert body["items"] == [{"version": "2026-01", "published_at": NOW, "characters": 1200,
                              "current": True}]
    assert routes.accounts.calls == [("list_terms", (5,))]
    with pytest.raises(Invalid):
        StaffRoutes.list_terms(routes, api_get("/api/staff/terms?limit=0"))
    with pytest.raises(Forbidden):
        StaffRoutes.list_terms(ApiRoutes("compliance"), api_get("/api/staff/terms"))
