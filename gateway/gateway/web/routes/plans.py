"""The distributor's plans: the list, a quote (price and daily quota before buying), buying,
a plan's page, and withdrawal within the 7-day window (terms art. 3.B.iii, 6).

The RPCs and schemas of ``gateway.routes.plans``: the quote form is ``QuoteIn`` (leads,
tier, country; the daily quota is the service's answer, not an input), buying is
``PlanCreateIn``. The plans service checks ownership (another user's plan is its 404),
the open countries, the sales closures and the withdrawal rules.

``GET /web/plans/quote.json`` answers the same quote as JSON for ``plans.js``, which
updates the price and the daily quota as one types; the form works without it. A card
payment is a link to the provider's page, not a redirect: the strict CSP's
``form-action 'self'`` would stop a form whose answer leads to another origin.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from gateway.schemas.plans import TIERS, PlanCreateIn, PlansQuery, QuoteIn
from gateway.web.http import FLASH, N_, Page, form_errors, page, validated
from gateway.web.routes.roles_common import attempt
from suivi_common.errors import Invalid, SuiviError

MEMBER = ("user", "admin")
PAGE_SIZE = 25
#: The payment methods of ``PlanCreateIn``, with their labels for the catalogue.
QUOTE_FIELDS = ("records", "tier", "country")
METHODS = {"card": N_("Card"), "transfer": N_("Bank transfer"), "cheque": N_("Cheque")}

FLASH.update({
    "plan_cancelled": N_("The plan is withdrawn; a paid plan is refunded."),
})


def quote_fields(p: Page) -> dict[str, Any]:
    """The quote form as ``QuoteIn`` wants it: ``records`` a number when it reads as one
    (the strict schema refuses a string, with its own message)."""
    source = p.form if p.http.method == "POST" else p.http.args
    records: Any = source.get("records", "").strip()
    if records.isdigit():
        records = int(records)
    return {"records": records, "tier": source.get("tier", "").strip(),
            "country": source.get("country", "").strip().upper()}


def shown_errors(exc: Invalid) -> dict[str, str]:
    """A refused quote's messages: beside the form's fields, and at the top for any other
    (the page shows no field of that name)."""
    errors = form_errors(exc)
    others = [m for k, m in errors.items() if k not in QUOTE_FIELDS]
    if others or not errors:
        errors["_top"] = " ".join(others) or exc.message
    return errors


class WebPlansRoutes:
    accounts: Any
    plans: Any

    def _plans_page(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
                    values: dict[str, Any] | None = None,
                    quote: dict[str, Any] | None = None) -> Response:
        wanted = p.http.args.get("status", "")
        cursor = p.http.args.get("cursor", "")
        q = validated(PlansQuery, {k: v for k, v in {"status": wanted, "cursor": cursor,
                                                     "limit": PAGE_SIZE}.items() if v})
        result = self.plans.list_plans(q.get("cursor"), PAGE_SIZE, q.get("status"))
        next_url = None
        if result.get("next_cursor"):
            next_url = "/web/plans?" + urlencode({k: v for k, v in {
                "status": wanted, "cursor": result["next_cursor"]}.items() if v})
        countries = self.accounts.get_network().get("open_countries") or []
        return p.render("plans.html", status=status, plans=result["items"], next_url=next_url,
                        status_filter=wanted, countries=countries, tiers=TIERS, methods=METHODS,
                        errors=errors or {}, values=values or {}, quote=quote)

    @page("GET", "/web/plans", roles=MEMBER)
    def web_plans(self, p: Page) -> Response:
        return self._plans_page(p)

    @page("POST", "/web/plans/quote", roles=MEMBER)
    def web_plans_quote(self, p: Page) -> Response:
        values = quote_fields(p)
        try:
            body = validated(QuoteIn, values)
            quote = self.plans.quote(body["records"], body["tier"], body["country"])
        except Invalid as exc:
            return self._plans_page(p, 400, shown_errors(exc), values)
        except SuiviError as exc:
            if exc.status in (401, 404):
                raise
            return self._plans_page(p, exc.status, {"_top": p.error_text(exc)}, values)
        return self._plans_page(p, values=values, quote=quote)

    @page("GET", "/web/plans/quote.json", roles=MEMBER)
    def web_plans_quote_json(self, p: Page) -> Response:
        """The live quote of ``plans.js``: the service's answer, or its readable refusal."""
        try:
            body = validated(QuoteIn, quote_fields(p))
            answer: dict[str, Any] = {"quote": self.plans.quote(body["records"], body["tier"],
                                                                body["country"])}
            status = 200
        except SuiviError as exc:
            if exc.status == 401:
                raise
            fields = form_errors(exc) if isinstance(exc, Invalid) else {}
            answer = {"error": " ".join(fields.values()) or p.error_text(exc)}
            status = exc.status
        return Response(json.dumps(answer), status=status, mimetype="application/json")

    @page("POST", "/web/plans", roles=MEMBER)
    def web_plans_buy(self, p: Page) -> Response:
        values = {**quote_fields(p), "payment_method": p.form.get("payment_method", "")}
        bought: dict[str, Any] = {}

        def buy() -> None:
            body = validated(PlanCreateIn, values)
            bought.update(self.plans.create_plan(body["records"], body["tier"], body["country"],
                                                 body["payment_method"]))

        return attempt(p, buy, lambda: self._plan_page(p, bought["id"], 201,
                                                       payment=bought.get("payment")),
                       lambda s, e: self._plans_page(p, s, e, values))

    def _plan_page(self, p: Page, plan_id: str, status: int = 200,
                   errors: dict[str, str] | None = None,
                   payment: dict[str, Any] | None = None) -> Response:
        plan = self.plans.get_plan(plan_id)  # another user's plan: the 404 page
        return p.render("plan.html", status=status, plan=plan, payment=payment,
                        errors=errors or {})

    @page("GET", "/web/plans/<plan_id>", roles=MEMBER)
    def web_plan(self, p: Page, plan_id: str) -> Response:
        return self._plan_page(p, plan_id)

    @page("POST", "/web/plans/<plan_id>/cancel", roles=MEMBER)
    def web_plan_cancel(self, p: Page, plan_id: str) -> Response:
        return attempt(p, lambda: self.plans.cancel_plan(plan_id),
                       lambda: p.redirect(f"/web/plans/{plan_id}", flash="plan_cancelled"),
                       lambda s, e: self._plan_page(p, plan_id, s, e))
