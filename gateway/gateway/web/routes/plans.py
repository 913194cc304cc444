"""The distributor's plans: the list, a quote (price and daily quota before buying), buying,
a plan's page, and withdrawal within the 7-day window (terms art. 3.B.iii, 6).

The RPCs and schemas of ``gateway.routes.plans``: the quote form is ``QuoteIn`` (leads,
tier, country; the daily quota is the service's answer, not an input), buying is
``PlanCreateIn``; both carry the office kind (``kind``, the schema's choices), which the
subscription must cover (``kind_not_covered``, shown in words). The plans service checks
ownership (another user's plan is its 404), the open countries, the sales closures and the
withdrawal rules.

``GET /web/plans/quote.json`` answers the same quote as JSON for ``plans.js``, which
updates the price and the daily quota as one types; the form works without it. A card
payment is a link to the provider's page, not a redirect: the strict CSP's
``form-action 'self'`` would stop a form whose answer leads to another origin.
"""
from __future__ import annotations

import base64
import calendar
import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from gateway.routes.plans import PROOF_EXTENSIONS, PROOF_MAX_BODY
from gateway.schemas.plans import (
    TIERS,
    AbsenceIn,
    ExtendIn,
    ExtendQuoteIn,
    PlanCreateIn,
    PlansQuery,
    QuoteIn,
    TierIn,
)
from gateway.web.http import ERROR_MESSAGES, FLASH, N_, Page, form_errors, page, validated
from gateway.web.routes.roles_common import attempt
from gateway.web.routes.subscription import WebSubscriptionRoutes, schema_choices
from suivi_common.errors import Invalid, SuiviError

MEMBER = ("user", "admin")
PAGE_SIZE = 25
#: The payment methods of ``PlanCreateIn``, with their labels for the catalogue.
QUOTE_FIELDS = ("records", "tier", "country", "kind")
METHODS = {"card": N_("Card"), "transfer": N_("Bank transfer"), "cheque": N_("Cheque")}

FLASH.update({
    "plan_cancelled": N_("The plan is withdrawn; a paid plan is refunded."),
    "tier_changed": N_("Tier changed: %(before)s leads left are now %(after)s."),
    "absence_recorded": N_("Absence recorded."),
    "claim_recorded": N_("Force majeure declared; staff will decide on it."),
    "proof_uploaded": N_("Proof attached."),
})
ERROR_MESSAGES.update({
    "tier_change_daily_limit": N_("The tier can be changed once a day: try again tomorrow."),
    "tier_unchanged": N_("The plan already has this tier."),
    "plan_not_extendable": N_("This plan cannot be extended."),
    "extension_in_progress": N_("An extension of this plan is already awaiting payment."),
    "withdrawal_period_over": N_("The 7-day withdrawal period is over."),
    "plan_already_delivered": N_("Leads were delivered: the plan can no longer be withdrawn."),
    "absence_quarterly_limit": N_("One planned absence per quarter: this quarter's is used."),
    "absence_notice_too_late": N_("An absence is announced by the business day before it "
                                  "starts."),
    "proof_type_not_allowed": N_("The proof must be a PDF, JPEG or PNG file."),
})

#: The reasons of a force majeure (``AbsenceIn.reason``'s enum), with their labels.
REASONS = {"hospitalisation": N_("Hospitalisation"), "bereavement": N_("Bereavement"),
           "relative_in_distress": N_("A relative in distress"),
           "separation": N_("Separation"), "other": N_("Other")}
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
MONTHS = (N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"),
          N_("July"), N_("August"), N_("September"), N_("October"), N_("November"),
          N_("December"))
#: The sections of a plan's page: a refusal is shown in its own section.
FORMS = ("tier_form", "extend_form", "absence_form", "proof_form")


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def plan_calendar(plan: dict[str, Any], absences: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plan's calendar as month grids, from the service's own answer: delivery days
    are ``start_date`` to ``end_date`` but ``blocked_dates``; a blocked day inside one of
    the plan's absences is an absence, else a day without sales. Weeks start on Monday."""
    start, end = _day(plan.get("start_date")), _day(plan.get("end_date"))
    if start is None or end is None:
        return []
    blocked = {d for d in (_day(v) for v in plan.get("blocked_dates") or []) if d}
    away = [(a, b) for a, b in ((_day(x.get("start_date")), _day(x.get("end_date")))
                                for x in absences if x.get("status") != "rejected") if a and b]
    today = _day((plan.get("today") or {}).get("date"))
    last = max([end, *blocked])
    months: list[dict[str, Any]] = []
    year, month = start.year, start.month
    while (year, month) <= (last.year, last.month):
        weeks = []
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            days: list[dict[str, Any] | None] = []
            for d in week:
                if d.month != month:
                    days.append(None)
                    continue
                if d in blocked:
                    kind = "absence" if any(a <= d <= b for a, b in away) else "closed"
                elif start <= d <= end:
                    kind = "delivery"
                else:
                    kind = "outside"
                days.append({"day": d.day, "iso": d.isoformat(), "kind": kind,
                             "today": d == today})
            weeks.append(days)
        months.append({"year": year, "month": MONTHS[month - 1], "weeks": weeks})
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def absence_fields(p: Page, plan_id: str) -> dict[str, Any]:
    """The absence form as ``AbsenceIn`` wants it: a force majeure names this plan and its
    reason; a planned absence concerns every active plan (the service's rule)."""
    force = p.form.get("kind") == "force_majeure"
    values: dict[str, Any] = {"start_date": p.form.get("start_date", "").strip(),
                              "end_date": p.form.get("end_date", "").strip(),
                              "force_majeure": force}
    details = p.form.get("details", "").strip()
    if details:
        values["details"] = details
    if force:
        values["plan_id"] = plan_id
        values["reason"] = p.form.get("reason", "").strip()
    return values


def proof_of(p: Page) -> tuple[str, bytes] | None:
    """The uploaded proof (its declared type, its bytes), None when no file was chosen;
    a type outside the API's ``PROOF_EXTENSIONS`` is refused beside the field (the
    service checks the bytes themselves too)."""
    upload = p.http.files.get("proof")
    if upload is None or not upload.filename:
        return None
    if upload.mimetype not in PROOF_EXTENSIONS:
        raise Invalid("The proof must be a PDF, JPEG or PNG file",
                      fields={"proof": p.gettext("The proof must be a PDF, JPEG or PNG file.")},
                      code="proof_type_not_allowed")
    return upload.mimetype, upload.read()


def quote_fields(p: Page) -> dict[str, Any]:
    """The quote form as ``QuoteIn`` wants it: ``records`` a number when it reads as one
    (the strict schema refuses a string, with its own message)."""
    source = p.form if p.http.method == "POST" else p.http.args
    records: Any = source.get("records", "").strip()
    if records.isdigit():
        records = int(records)
    values = {"records": records, "tier": source.get("tier", "").strip(),
              "country": source.get("country", "").strip().upper()}
    kind = source.get("kind", "").strip()
    if kind:  # absent: the schema's default
        values["kind"] = kind
    return values


def shown_errors(exc: Invalid) -> dict[str, str]:
    """A refused quote's messages: beside the form's fields, and at the top for any other
    (the page shows no field of that name)."""
    errors = form_errors(exc)
    others = [m for k, m in errors.items() if k not in QUOTE_FIELDS]
    if others or not errors:
        errors["_top"] = " ".join(others) or exc.message
    return errors


class WebPlansRoutes(WebSubscriptionRoutes):
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
        kinds, default_kind = schema_choices(QuoteIn, "kind")
        return p.render("plans.html", status=status, plans=result["items"], next_url=next_url,
                        status_filter=wanted, countries=countries, tiers=TIERS, methods=METHODS,
                        kinds=kinds, errors=errors or {},
                        values={"kind": default_kind, **(values or {})}, quote=quote)

    @page("GET", "/web/plans", roles=MEMBER)
    def web_plans(self, p: Page) -> Response:
        return self._plans_page(p)

    @page("POST", "/web/plans/quote", roles=MEMBER)
    def web_plans_quote(self, p: Page) -> Response:
        values = quote_fields(p)
        try:
            body = validated(QuoteIn, values)
            quote = self.plans.quote(body["records"], body["tier"], body["country"],
                                     body["kind"])
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
                                                                body["country"], body["kind"])}
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
                                                 body["payment_method"], body["kind"]))

        return attempt(p, buy, lambda: self._plan_page(p, bought["id"], 201,
                                                       payment=bought.get("payment")),
                       lambda s, e: self._plans_page(p, s, e, values))

    def _plan_page(self, p: Page, plan_id: str, status: int = 200,
                   errors: dict[str, str] | None = None,
                   payment: dict[str, Any] | None = None, **extra: Any) -> Response:
        plan = self.plans.get_plan(plan_id)  # another user's plan: the 404 page
        absences = [a for a in self.plans.list_absences(None, 50).get("items", [])
                    if a.get("plan_id") == plan["id"] or plan["id"] in (a.get("plan_ids") or [])]
        if payment is None:  # an extension awaiting its card payment keeps its link
            payment = next((e.get("payment") for e in plan.get("extensions") or []
                            if e.get("status") == "pending_payment" and e.get("payment")), None)
        return p.render("plan.html", status=status, plan=plan, payment=payment,
                        errors=errors or {}, tiers=TIERS, methods=METHODS, reasons=REASONS,
                        absences=absences, weekdays=WEEKDAYS,
                        months=plan_calendar(plan, absences),
                        proof_types=", ".join(sorted(PROOF_EXTENSIONS.values())),
                        proof_accept=",".join(PROOF_EXTENSIONS), values=extra.pop("values", {}),
                        **extra)

    @page("GET", "/web/plans/<plan_id>", roles=MEMBER)
    def web_plan(self, p: Page, plan_id: str) -> Response:
        return self._plan_page(p, plan_id)

    @page("POST", "/web/plans/<plan_id>/cancel", roles=MEMBER)
    def web_plan_cancel(self, p: Page, plan_id: str) -> Response:
        return attempt(p, lambda: self.plans.cancel_plan(plan_id),
                       lambda: p.redirect(f"/web/plans/{plan_id}", flash="plan_cancelled"),
                       lambda s, e: self._plan_page(p, plan_id, s, e))

    @page("GET", "/web/plans/<plan_id>/status.json", roles=MEMBER)
    def web_plan_status(self, p: Page, plan_id: str) -> Response:
        """The plan's status, for the page that waits for its payment (``poll.js``)."""
        plan = self.plans.get_plan(plan_id)
        return Response(json.dumps({"status": plan["status"]}), mimetype="application/json",
                        headers={"Cache-Control": "no-store"})

    @page("POST", "/web/plans/<plan_id>/tier", roles=MEMBER)
    def web_plan_tier(self, p: Page, plan_id: str) -> Response:
        changed: dict[str, Any] = {}

        def change() -> None:
            body = validated(TierIn, {"tier": p.form.get("tier", "").strip()})
            changed.update(self.plans.change_tier(plan_id, body["tier"]))

        def done() -> Response:
            change_of = changed.get("tier_change") or {}
            return p.redirect(f"/web/plans/{plan_id}", flash="tier_changed",
                              before=change_of.get("records_before", 0),
                              after=change_of.get("records_after", 0))

        return attempt(p, change, done, lambda s, e: self._plan_page(p, plan_id, s, e),
                       form="tier_form")

    @page("POST", "/web/plans/<plan_id>/extend/quote", roles=MEMBER)
    def web_plan_extend_quote(self, p: Page, plan_id: str) -> Response:
        values = {"records": _number(p.form.get("records", ""))}
        quoted: dict[str, Any] = {}

        def ask() -> None:
            body = validated(ExtendQuoteIn, values)
            quoted.update(self.plans.quote_extension(plan_id, body["records"]))

        return attempt(p, ask, lambda: self._plan_page(p, plan_id, extension_quote=quoted,
                                                       values=values),
                       lambda s, e: self._plan_page(p, plan_id, s, e, values=values),
                       form="extend_form")

    @page("POST", "/web/plans/<plan_id>/extend", roles=MEMBER)
    def web_plan_extend(self, p: Page, plan_id: str) -> Response:
        values = {"records": _number(p.form.get("records", "")),
                  "payment_method": p.form.get("payment_method", "").strip()}
        extension: dict[str, Any] = {}

        def extend() -> None:
            body = validated(ExtendIn, values)
            extension.update(self.plans.extend_plan(plan_id, body["records"],
                                                    body["payment_method"]))

        return attempt(p, extend, lambda: self._plan_page(p, plan_id, 201,
                                                          payment=extension.get("payment"),
                                                          extension=extension),
                       lambda s, e: self._plan_page(p, plan_id, s, e, values=values),
                       form="extend_form")

    @page("POST", "/web/plans/<plan_id>/absences", roles=MEMBER, max_body=PROOF_MAX_BODY)
    def web_plan_absence(self, p: Page, plan_id: str) -> Response:
        self.plans.get_plan(plan_id)  # a planned absence names no plan: this page's is checked
        values = absence_fields(p, plan_id)
        created: dict[str, Any] = {}

        def declare() -> None:
            body = validated(AbsenceIn, values)
            proof = proof_of(p) if body["force_majeure"] else None
            created.update(self.plans.request_absence(
                body["start_date"].isoformat(), body["end_date"].isoformat(),
                body["force_majeure"], body.get("reason"), body.get("details"),
                body.get("plan_id")))
            if proof is not None:
                try:
                    self.plans.upload_proof(created["id"], base64.b64encode(proof[1]).decode())
                except Invalid as exc:  # the claim stands; its proof can be sent again
                    raise Invalid(p.gettext("The force majeure is declared, but its proof "
                                            "was refused:") + " " + exc.message,
                                  fields=exc.fields, code=exc.code) from None

        flash = "claim_recorded" if values["force_majeure"] else "absence_recorded"
        return attempt(p, declare, lambda: p.redirect(f"/web/plans/{plan_id}", flash=flash),
                       lambda s, e: self._plan_page(p, plan_id, s, e, values=values),
                       form="absence_form")

    @page("POST", "/web/plans/<plan_id>/absences/<absence_id>/proof", roles=MEMBER,
          max_body=PROOF_MAX_BODY)
    def web_absence_proof(self, p: Page, plan_id: str, absence_id: str) -> Response:
        def send() -> None:
            proof = proof_of(p)
            if proof is None:
                raise Invalid("exactly one file is required",
                              fields={"proof": p.gettext("Choose a file.")},
                              code="proof_missing")
            self.plans.upload_proof(absence_id, base64.b64encode(proof[1]).decode())

        return attempt(p, send, lambda: p.redirect(f"/web/plans/{plan_id}", flash="proof_uploaded"),
                       lambda s, e: self._plan_page(p, plan_id, s, e), form="proof_form")


def _number(value: str) -> Any:
    """A number field as the strict schemas want it: an int when it reads as one."""
    value = value.strip()
    return int(value) if value.isdigit() else value
