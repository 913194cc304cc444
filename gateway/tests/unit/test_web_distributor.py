"""The distributor's subscription and plan pages, without a platform: the routes run on
fakes of the accounts and plans services (the same RPCs as the JSON API), so what a page
sends, shows and refuses is checked here; ``tests/browser/test_plans_journey.py`` walks
them in a browser."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

import gateway.service  # noqa: F401  (registers every route)
from gateway.web import http as web
from gateway.web.routes.plans import WebPlansRoutes, absence_fields, plan_calendar, proof_of
from gateway.web.routes.subscription import office_kinds, order_args
from suivi_common.errors import Conflict, Forbidden, NotFound

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
PLAN: dict[str, Any] = {
    "id": "p1", "status": "active", "tier": "standard", "country": "BE", "records_total": 60,
    "records_remaining": 50, "daily_quota": 2, "start_date": "2026-11-30",
    "end_date": "2027-01-04", "credit_cents": 0, "unit_price_cents": 500, "total_cents": 30000,
    "blocked_dates": ["2026-12-05", "2026-12-25"], "tier_changed_on": None,
    "today": {"date": "2026-12-03", "quota": 2, "taken": 0, "shortfall": 0, "live": True},
    "extensions": []}
ABSENCE = {"id": "a1", "kind": "force_majeure", "status": "pending", "plan_id": "p1",
           "plan_ids": ["p1"], "start_date": "2026-12-05", "end_date": "2026-12-05",
           "proof": None}


class FakePlans:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.refuse: Exception | None = None

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any) -> Any:
            self.calls.append((name, args))
            if name == "get_plan":
                if args[0] != "p1":
                    raise NotFound("No such plan")
                return PLAN
            if name == "list_plans":
                return {"items": [{**PLAN, "kind": "distribution"}], "next_cursor": None}
            if self.refuse is not None and name not in ("list_absences",):
                raise self.refuse
            if name == "quote":
                return {"unit_price_cents": 400, "total_cents": 24000, "daily_quota": 2,
                        "days": 30, "records": args[0], "tier": args[1], "country": args[2],
                        "kind": args[3]}
            if name == "create_plan":
                return {"id": "p1", "payment": None}
            if name == "list_absences":
                return {"items": [ABSENCE, {**ABSENCE, "id": "other", "plan_id": "p9",
                                            "plan_ids": ["p9"]}]}
            if name == "change_tier":
                return {**PLAN, "tier_change": {"records_before": 50, "records_after": 40}}
            if name == "request_absence":
                return {**ABSENCE, "id": "a2"}
            return {}
        return call


class FakeAccounts:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.refuse: Exception | None = None

    def get_me(self) -> dict[str, Any]:
        return {"subscription": {"id": "s1", "status": "active", "period": "annual",
                                 "kind": "both", "amount_cents": 50000,
                                 "starts_on": "2026-12-01", "ends_on": "2027-11-30"}}

    def list_subscriptions(self) -> dict[str, Any]:
        return {"items": [{"id": "s1", "status": "active", "period": "annual",
                           "kind": "both", "amount_cents": 50000}]}

    def get_network(self) -> dict[str, Any]:
        return {"open_countries": ["BE", "FR"]}

    def create_subscription(self, *args: Any) -> dict[str, Any]:
        self.calls.append(("create_subscription", args))
        if self.refuse is not None:
            raise self.refuse
        return {"id": "s2", "status": "pending_payment", "period": args[0], "amount_cents": 5000,
                "kind": args[2],
                "payment": {"id": "pay2", "method": args[1], "status": "pending",
                            "amount_cents": 5000,
                            "redirect_url": "http://127.0.0.1:8025/pay/ref2"
                            if args[1] == "card" else None}}

    def withdraw_subscription(self, subscription_id: str) -> dict[str, Any]:
        self.calls.append(("withdraw_subscription", (subscription_id,)))
        if self.refuse is not None:
            raise self.refuse
        return {"id": subscription_id, "status": "withdrawn"}


class Service(WebPlansRoutes):
    def __init__(self) -> None:
        self.plans, self.accounts = FakePlans(), FakeAccounts()
        self.auth = SimpleNamespace(require_token=lambda token, **kw: (
            SimpleNamespace(role="user", user_id="u1"), token))


@pytest.fixture
def svc() -> Service:
    return Service()


def call(svc: Service, handler: Any, method: str = "GET", path: str = "/web/plans/p1",
         data: dict[str, Any] | None = None, csrf: bool = True, **path_values: str) -> Response:
    cookies = f"{web.SESSION_COOKIE}=tok; {web.CSRF_COOKIE}=c5"
    form = dict(data or {})
    if method == "POST" and csrf:
        form["csrf"] = "c5"
    request = Request(EnvironBuilder(method=method, base_url="http://127.0.0.1:8000/", path=path,
                                     data=form or None, headers={"Cookie": cookies})
                      .get_environ())
    return handler(svc, request, **path_values)


def text(response: Response) -> str:
    return response.get_data(as_text=True)


def test_the_calendar_shows_delivery_absence_and_closed_days_monday_first() -> None:
    months = plan_calendar(PLAN, [ABSENCE])
    assert [(m["month"], m["year"]) for m in months] == [
        ("November", 2026), ("December", 2026), ("January", 2027)]
    days = {d["iso"]: d for m in months for w in m["weeks"] for d in w if d}
    assert days["2026-11-30"]["kind"] == "delivery"
    assert days["2026-12-05"]["kind"] == "absence"      # blocked, inside the claim
    assert days["2026-12-25"]["kind"] == "closed"       # blocked for another reason
    assert days["2027-01-05"]["kind"] == "outside"
    assert days["2026-12-03"]["today"] and not days["2026-12-04"]["today"]
    first_week = months[1]["weeks"][0]  # December 2026 starts on a Tuesday
    assert first_week[0] is None and first_week[1]["day"] == 1
    assert all(len(w) == 7 for m in months for w in m["weeks"])
    rejected = plan_calendar(PLAN, [{**ABSENCE, "status": "rejected"}])
    assert {d["iso"]: d for m in rejected for w in m["weeks"] for d in w if d}[
        "2026-12-05"]["kind"] == "closed"
    assert plan_calendar({**PLAN, "start_date": None, "end_date": None}, []) == []


def test_the_absence_form_is_the_json_routes_body() -> None:
    def page_with(form: dict[str, str]) -> web.Page:
        request = Request(EnvironBuilder(method="POST", path="/x", data=form).get_environ())
        return web.Page(request, None, None, "fr", "x")
    planned = absence_fields(page_with({"kind": "planned", "start_date": " 2026-12-10 ",
                                        "end_date": "2026-12-11", "reason": "other"}), "p1")
    assert planned == {"start_date": "2026-12-10", "end_date": "2026-12-11",
                       "force_majeure": False}
    force = absence_fields(page_with({"kind": "force_majeure", "start_date": "2026-12-03",
                                      "end_date": "2026-12-04", "reason": "bereavement",
                                      "details": "x"}), "p1")
    assert force["plan_id"] == "p1" and force["reason"] == "bereavement" and force["force_majeure"]


def test_the_proof_type_is_checked_like_the_api() -> None:
    def page_with(upload: FileStorage | None) -> web.Page:
        data: dict[str, Any] = {"proof": upload} if upload else {}
        request = Request(EnvironBuilder(method="POST", path="/x", data=data).get_environ())
        return web.Page(request, None, None, "fr", "x")
    assert proof_of(page_with(None)) is None
    png = FileStorage(stream=__import__("io").BytesIO(PNG), filename="p.png",
                      content_type="image/png")
    assert proof_of(page_with(png)) == ("image/png", PNG)
    txt = FileStorage(stream=__import__("io").BytesIO(b"hello"), filename="p.txt",
                      content_type="text/plain")
    with pytest.raises(Exception) as refused:
        proof_of(page_with(txt))
    assert "proof" in refused.value.fields  # type: ignore[attr-defined]


def test_the_plan_page_has_its_forms_calendar_and_own_absences(svc: Service) -> None:
    response = call(svc, Service.web_plan, plan_id="p1")
    html = text(response)
    assert response.status_code == 200
    for form in ("tier-form", "extend-quote-form", "absence-form", "cancel-form"):
        assert f'id="{form}"' in html
    assert 'enctype="multipart/form-data"' in html and 'name="csrf" value="c5"' in html
    assert 'class="absence" data-date="2026-12-05"' in html and "Calendrier" in html
    assert 'id="absence-a1"' in html and 'id="absence-other"' not in html
    assert '<option value="standard">' not in html  # the current tier is not offered


def test_another_users_plan_is_the_404_page(svc: Service) -> None:
    response = call(svc, Service.web_plan, path="/web/plans/p9", plan_id="p9")
    assert response.status_code == 404 and "Page introuvable" in text(response)


def test_a_post_without_csrf_is_refused_before_any_call(svc: Service) -> None:
    response = call(svc, Service.web_plan_tier, "POST", "/web/plans/p1/tier",
                    {"tier": "premium"}, csrf=False, plan_id="p1")
    assert response.status_code == 403
    assert svc.plans.calls == []


def test_tier_change_then_its_daily_refusal(svc: Service) -> None:
    done = call(svc, Service.web_plan_tier, "POST", "/web/plans/p1/tier", {"tier": "premium"},
                plan_id="p1")
    assert done.status_code == 303 and done.headers["Location"] == "/web/plans/p1"
    assert ("change_tier", ("p1", "premium")) in svc.plans.calls
    svc.plans.refuse = Conflict("Tier can be changed once per calendar day",
                                code="tier_change_daily_limit")
    again = call(svc, Service.web_plan_tier, "POST", "/web/plans/p1/tier", {"tier": "premium"},
                 plan_id="p1")
    assert again.status_code == 409
    assert "La gamme se change une fois par jour" in text(again)
    assert 'id="tier_form-error"' in text(again)


def test_an_extension_is_quoted_then_ordered(svc: Service) -> None:
    bad = call(svc, Service.web_plan_extend_quote, "POST", "/web/plans/p1/extend/quote",
               {"records": "beaucoup"}, plan_id="p1")
    assert bad.status_code == 400 and 'id="records-error"' in text(bad)
    call(svc, Service.web_plan_extend_quote, "POST", "/web/plans/p1/extend/quote",
         {"records": "30"}, plan_id="p1")
    assert ("quote_extension", ("p1", 30)) in svc.plans.calls
    call(svc, Service.web_plan_extend, "POST", "/web/plans/p1/extend",
         {"records": "30", "payment_method": "transfer"}, plan_id="p1")
    assert ("extend_plan", ("p1", 30, "transfer")) in svc.plans.calls


def test_a_force_majeure_with_its_proof_and_a_refused_type(svc: Service) -> None:
    form = {"kind": "force_majeure", "start_date": "2026-12-03", "end_date": "2026-12-04",
            "reason": "hospitalisation"}
    wrong = call(svc, Service.web_plan_absence, "POST", "/web/plans/p1/absences",
                 {**form, "proof": (__import__("io").BytesIO(b"MZ"), "x.exe",
                                    "application/octet-stream")}, plan_id="p1")
    assert wrong.status_code == 400 and 'id="proof-error"' in text(wrong)
    assert not [c for c in svc.plans.calls if c[0] == "request_absence"]  # nothing recorded
    done = call(svc, Service.web_plan_absence, "POST", "/web/plans/p1/absences",
                {**form, "proof": (__import__("io").BytesIO(PNG), "p.png", "image/png")},
                plan_id="p1")
    assert done.status_code == 303
    names = [c[0] for c in svc.plans.calls]
    assert names[-2:] == ["request_absence", "upload_proof"]
    assert svc.plans.calls[-2][1] == ("2026-12-03", "2026-12-04", True, "hospitalisation",
                                      None, "p1")
    assert svc.plans.calls[-1][1][0] == "a2"


def test_a_planned_absence_concerns_every_plan(svc: Service) -> None:
    call(svc, Service.web_plan_absence, "POST", "/web/plans/p1/absences",
         {"kind": "planned", "start_date": "2026-12-10", "end_date": "2026-12-11"}, plan_id="p1")
    assert svc.plans.calls[-1] == ("request_absence", ("2026-12-10", "2026-12-11", False, None,
                                                       None, None))


def test_an_absence_from_another_users_plan_page_is_a_404(svc: Service) -> None:
    response = call(svc, Service.web_plan_absence, "POST", "/web/plans/p9/absences",
                    {"kind": "planned", "start_date": "2026-12-10", "end_date": "2026-12-11"},
                    plan_id="p9")
    assert response.status_code == 404
    assert [c[0] for c in svc.plans.calls] == ["get_plan"]  # nothing was recorded


def test_the_subscription_page_orders_by_card_with_the_providers_link(svc: Service) -> None:
    page = call(svc, Service.web_subscription, path="/web/subscription")
    assert page.status_code == 200 and 'id="subscribe-form"' in text(page)
    assert 'id="subscription-status">active' in text(page)
    ordered = call(svc, Service.web_subscribe, "POST", "/web/subscription",
                   {"period": "quarterly", "payment_method": "card"})
    assert ordered.status_code == 201
    assert 'href="http://127.0.0.1:8025/pay/ref2"' in text(ordered)
    # no kind sent: the API schema's default, construction
    assert svc.accounts.calls[-1] == ("create_subscription", ("quarterly", "card",
                                                              "construction"))


def test_the_subscription_page_chooses_the_kinds_covered_and_shows_them(svc: Service) -> None:
    page = text(call(svc, Service.web_subscription, path="/web/subscription"))
    for kind in ("distribution", "construction", "both"):  # SubscriptionIn's choices
        assert f'id="kind-{kind}"' in page
    assert 'id="subscription-kind">Les deux<' in page
    ordered = call(svc, Service.web_subscribe, "POST", "/web/subscription",
                   {"period": "monthly", "payment_method": "transfer", "kind": "both"})
    assert ordered.status_code == 201
    assert svc.accounts.calls[-1] == ("create_subscription", ("monthly", "transfer", "both"))
    assert "Les deux · 50.00 €" in text(ordered)  # the amount is the service's answer
    bad = call(svc, Service.web_subscribe, "POST", "/web/subscription",
               {"period": "monthly", "payment_method": "card", "kind": "shop"})
    assert bad.status_code == 400 and 'id="kind-error"' in text(bad)
    assert len(svc.accounts.calls) == 1  # the schema refused it before any call


def test_the_plan_kind_is_quoted_bought_and_shown(svc: Service) -> None:
    page = text(call(svc, Service.web_plans, path="/web/plans"))
    assert ">Distribution</option>" in page and ">Construction</option>" in page  # QuoteIn's
    assert 'class="kind kind-distribution">Distribution<' in page  # the list's badge
    quoted = call(svc, Service.web_plans_quote, "POST", "/web/plans/quote",
                  {"records": "60", "tier": "standard", "country": "BE", "kind": "distribution"})
    assert ("quote", (60, "standard", "BE", "distribution")) in svc.plans.calls
    assert 'name="kind" value="distribution"' in text(quoted)  # the buy form buys that kind
    assert 'id="quote-kind">Distribution<' in text(quoted)
    live = call(svc, Service.web_plans_quote_json, path="/web/plans/quote.json?records=60"
                "&tier=standard&country=BE&kind=distribution")
    assert live.json["quote"]["kind"] == "distribution"
    call(svc, Service.web_plans_buy, "POST", "/web/plans",
         {"records": "60", "tier": "standard", "country": "BE", "kind": "distribution",
          "payment_method": "card"})
    assert ("create_plan", (60, "standard", "BE", "card", "distribution")) in svc.plans.calls
    plan = text(call(svc, Service.web_plan, path="/web/plans/p1", plan_id="p1"))
    assert 'id="plan-kind">Construction<' in plan  # PLAN has no kind: construction


def test_a_kind_the_subscription_does_not_cover_is_refused_in_words(svc: Service) -> None:
    svc.plans.refuse = Forbidden("Your subscription does not cover the distribution office",
                                 code="kind_not_covered",
                                 fields={"kind": "distribution", "covered": "construction"})
    refused = call(svc, Service.web_plans_buy, "POST", "/web/plans",
                   {"records": "60", "tier": "standard", "country": "BE",
                    "kind": "distribution", "payment_method": "card"})
    assert refused.status_code == 403
    assert "Votre abonnement ne couvre pas ce type de bureau" in text(refused)
    extended = call(svc, Service.web_plan_extend, "POST", "/web/plans/p1/extend",
                    {"records": "30", "payment_method": "card"}, plan_id="p1")
    assert extended.status_code == 403 and 'id="extend_form-error"' in text(extended)
    assert "ne couvre pas ce type de bureau" in text(extended)


def test_the_subscription_form_is_checked_by_the_api_schema(svc: Service) -> None:
    bad = call(svc, Service.web_subscribe, "POST", "/web/subscription",
               {"period": "weekly", "payment_method": "card"})
    assert bad.status_code == 400 and 'id="period-error"' in text(bad)
    assert svc.accounts.calls == []


def test_a_refused_withdrawal_is_shown_at_the_top(svc: Service) -> None:
    svc.accounts.refuse = Conflict("The 7-day withdrawal period is over",
                                   code="withdrawal_window_closed")
    refused = call(svc, Service.web_subscription_withdraw, "POST",
                   "/web/subscription/s1/withdraw", subscription_id="s1")
    assert refused.status_code == 409
    assert "Le délai de rétractation de 7 jours est dépassé." in text(refused)
    svc.accounts.refuse = None
    done = call(svc, Service.web_subscription_withdraw, "POST", "/web/subscription/s1/withdraw",
                subscription_id="s1")
    assert done.status_code == 303


def test_the_card_providers_return_leads_to_the_web_office(svc: Service) -> None:
    back = call(svc, Service.web_card_return, path="/payments/return")
    assert back.status_code == 303 and back.headers["Location"] == "/web/payments/return"


def test_the_office_kinds_are_the_api_schemas() -> None:
    assert office_kinds() == ["distribution", "construction", "both"]
    assert order_args({"period": "annual", "payment_method": "card",
                       "kind": "both"}) == ("annual", "card", "both")
