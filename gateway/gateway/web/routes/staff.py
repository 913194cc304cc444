"""Platform staff's pages: payments to validate and refunds to pay back, refund claims
with their evidence and a decision, absences and force-majeure claims with a decision,
accounts (found by exact email or id) to suspend, close or reactivate, sales closures and
the stock against the forecast (an SVG bar chart drawn here), capture sites and their keys,
terms versions, and dead letters to replay.

The RPCs of ``gateway.routes.staff``, ``.office``, ``.plans`` and ``.leads``, with the same
schemas; a change of an account's status evicts its cached principal on every gateway, as
the JSON route does. The services check the staff role again.
"""
from __future__ import annotations

import base64
from typing import Any

from werkzeug.wrappers import Response

from gateway.auth import evict_user
from gateway.routes.plans import PROOF_EXTENSIONS
from gateway.routes.staff import (
    DEFAULT_DEAD_LETTERS_TIMEOUT,
    ask_each,
    combine_dead_letters,
)
from gateway.schemas.accounts import (
    PaymentsQuery,
    RefundMadeIn,
    TermsPublishIn,
    TermsQuery,
    UserSearchQuery,
)
from gateway.schemas.leads import CaptureSiteIn
from gateway.schemas.office import ClaimDecisionIn, StaffClaimsQuery
from gateway.schemas.plans import TIERS, ClosureIn, DecisionIn, ForecastQuery, StaffAbsencesQuery
from gateway.schemas.platform import DeadLetterQuery
from gateway.web.http import FLASH, N_, Page, not_found, page, validated
from gateway.web.routes.roles_common import attempt, checked, lines
from suivi_common import SERVICES
from suivi_common.errors import Invalid
from suivi_common.settings import setting

STAFF = ("staff",)
PAGE_SIZE = 50
#: the forecast's horizon on the stock page (days)
FORECAST_DAYS = 14
#: the stock chart's drawing width for the longest bar (SVG user units)
BAR_WIDTH = 400

FLASH.update({
    "closure_declared": N_("Sales closure declared; the plans concerned are lengthened."),
    "site_revoked": N_("The capture site's key is revoked."),
    "terms_published": N_("Terms published; every member will accept them again."),
    "letter_replayed": N_("The letter is back on its queue."),
})

#: the statuses' labels in the filters and the lists (the values stay the API's)
STATUS_LABELS = {
    "pending": N_("pending"),
    "validated": N_("validated"),
    "failed": N_("failed"),
    "cancelled": N_("cancelled"),
    "refunded": N_("refunded"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "active": N_("active"),
    "invited": N_("invited"),
    "suspended": N_("suspended"),
    "closed": N_("closed"),
    "terminated": N_("terminated"),
}

TIER_LABELS = {"standard": N_("standard"), "premium": N_("premium"),
               "premium_plus": N_("premium plus")}


def stock_chart(stock: list[dict[str, Any]], forecast: list[dict[str, Any]],
                width: int = BAR_WIDTH) -> list[dict[str, Any]]:
    """One row per country x tier, in stock or in demand: what is available now, today's
    demand and the forecast's demand over its horizon, with each bar's length scaled so
    the largest figure is ``width`` long (a figure above zero is at least 1 unit)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row(country: str, tier: str) -> dict[str, Any]:
        return rows.setdefault((country, tier), {"country": country, "tier": tier,
                                                 "available": 0, "demand_today": 0,
                                                 "expected": 0, "short": False})

    for item in stock:
        r = row(item["country"], item["tier"])
        r["available"] = int(item.get("available") or 0)
        r["demand_today"] = int(item.get("demand_today") or 0)
        r["short"] = bool(item.get("short"))
    for item in forecast:
        row(item["country"], item["tier"])["expected"] += int(item.get("records") or 0)
    top = max([max(r["available"], r["expected"]) for r in rows.values()] + [1])

    def scaled(n: int) -> int:
        return max(1, round(n * width / top)) if n > 0 else 0

    out = []
    for key in sorted(rows):
        r = rows[key]
        r["available_width"] = scaled(r["available"])
        r["expected_width"] = scaled(r["expected"])
        r["short_of_forecast"] = r["expected"] > r["available"]
        out.append(r)
    return out


def closure_form(form: Any) -> dict[str, Any]:
    """The closure form as ``ClosureIn`` reads the JSON body: countries a comma or line
    list (upper-cased), tiers the boxes ticked; empty lists mean every one."""
    body: dict[str, Any] = {"start_date": form.get("start_date", "").strip(),
                            "end_date": form.get("end_date", "").strip(),
                            "reason": form.get("reason", "").strip()}
    countries = [c.upper() for c in lines(form.get("countries", ""))]
    tiers = [t for t in form.getlist("tiers") if t]
    if countries:
        body["countries"] = countries
    if tiers:
        body["tiers"] = tiers
    return body


class WebStaffRoutes:
    accounts: Any
    leads: Any
    plans: Any
    dispatch: Any

    def _stf_render(self, p: Page, template: str, status: int = 200, **context: Any) -> Response:
        return p.render(template, status=status, status_labels=STATUS_LABELS,
                        tier_labels=TIER_LABELS, **context)

    # --- payments and refunds ---------------------------------------------------------------

    @page("GET", "/web/staff", roles=STAFF)
    def web_staff_payments(self, p: Page) -> Response:
        return self._stf_payments(p)

    def _stf_payments(self, p: Page, status: int = 200,
                  errors: dict[str, str] | None = None) -> Response:
        wanted = p.http.args.get("status", "pending")
        q = validated(PaymentsQuery, {"status": wanted, "limit": PAGE_SIZE})
        payments = self.accounts.list_payments(q.get("status"), None, PAGE_SIZE, None)["items"]
        refunds = self.accounts.list_payments(None, None, PAGE_SIZE, "due")["items"]
        return self._stf_render(p, "staff/payments.html", status=status, payments=payments,
                        refunds=refunds, status_filter=wanted, errors=errors or {})

    @page("POST", "/web/staff/payments/<payment_id>/validate", roles=STAFF)
    def web_staff_validate(self, p: Page, payment_id: str) -> Response:
        return attempt(p, lambda: self.accounts.validate_payment(payment_id),
                       lambda: p.redirect("/web/staff", flash="payment_validated"),
                       lambda s, e: self._stf_payments(p, s, e))

    @page("POST", "/web/staff/payments/<payment_id>/refunded", roles=STAFF)
    def web_staff_refunded(self, p: Page, payment_id: str) -> Response:
        def mark() -> None:
            b = validated(RefundMadeIn, {"reference": p.form.get("reference", "").strip()})
            self.accounts.mark_refunded(payment_id, b["reference"])

        return attempt(p, mark, lambda: p.redirect("/web/staff", flash="refund_recorded"),
                       lambda s, e: self._stf_payments(p, s, e))

    # --- refund claims ----------------------------------------------------------------------

    @page("GET", "/web/staff/claims", roles=STAFF)
    def web_staff_claims(self, p: Page) -> Response:
        return self._stf_claims(p)

    def _stf_claims(self, p: Page, status: int = 200,
                errors: dict[str, str] | None = None) -> Response:
        wanted = p.http.args.get("status", "pending")
        q = validated(StaffClaimsQuery, {"status": wanted, "limit": PAGE_SIZE})
        claims = self.leads.refund_claims_staff(q.get("status"), None, PAGE_SIZE)["items"]
        return self._stf_render(p, "staff/claims.html", status=status, claims=claims,
                        status_filter=wanted, errors=errors or {})

    @page("POST", "/web/staff/claims/<claim_id>/decision", roles=STAFF)
    def web_staff_claim_decide(self, p: Page, claim_id: str) -> Response:
        def decide() -> None:
            b = validated(ClaimDecisionIn, {"approve": p.form.get("approve") == "1",
                                            "comment": p.form.get("comment", "").strip()
                                            or None})
            self.leads.refund_claim_decide(claim_id, b["approve"], b["comment"])

        return attempt(p, decide, lambda: p.redirect("/web/staff/claims",
                                                     flash="decision_recorded"),
                       lambda s, e: self._stf_claims(p, s, e))

    # --- absences and force majeure ---------------------------------------------------------

    @page("GET", "/web/staff/absences", roles=STAFF)
    def web_staff_absences(self, p: Page) -> Response:
        return self._stf_absences(p)

    def _stf_absences(self, p: Page, status: int = 200,
                  errors: dict[str, str] | None = None) -> Response:
        wanted = p.http.args.get("status", "pending")
        q = validated(StaffAbsencesQuery, {"status": wanted, "limit": PAGE_SIZE})
        absences = self.plans.staff_list_absences(q["status"], None, PAGE_SIZE)["items"]
        return self._stf_render(p, "staff/absences.html", status=status, absences=absences,
                        status_filter=wanted, errors=errors or {})

    @page("GET", "/web/staff/absences/<absence_id>/proof", roles=STAFF)
    def web_staff_proof(self, p: Page, absence_id: str) -> Response:
        """The proof as a download (never shown inline: it is the claimant's file)."""
        proof = self.plans.get_proof(absence_id)
        if not proof:
            raise not_found()
        ext = PROOF_EXTENSIONS.get(proof["mime"], "bin")
        return Response(base64.b64decode(proof["content_b64"]), mimetype=proof["mime"], headers={
            "Content-Disposition": f'attachment; filename="proof-{absence_id}.{ext}"',
            "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})

    @page("POST", "/web/staff/absences/<absence_id>/decision", roles=STAFF)
    def web_staff_absence_decide(self, p: Page, absence_id: str) -> Response:
        def decide() -> None:
            comment = p.form.get("comment", "").strip()
            b = validated(DecisionIn, {"approve": p.form.get("approve") == "1",
                                       **({"comment": comment} if comment else {})})
            self.plans.decide_absence(absence_id, b["approve"], b.get("comment"))

        return attempt(p, decide, lambda: p.redirect("/web/staff/absences",
                                                     flash="decision_recorded"),
                       lambda s, e: self._stf_absences(p, s, e))

    # --- accounts ---------------------------------------------------------------------------

    @page("GET", "/web/staff/users", roles=STAFF)
    def web_staff_users(self, p: Page) -> Response:
        return self._stf_users(p)

    def _stf_users(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
               result: dict[str, Any] | None = None) -> Response:
        """The search (``?q=``: an exact email or an account id, as ``GET /api/staff/users``)
        and the networks."""
        wanted = p.http.args.get("q", "").strip() or p.form.get("q", "").strip()
        found = None
        if wanted:
            q = validated(UserSearchQuery, {"q": wanted})
            found = self.accounts.find_users(q["q"])["items"]
        networks = self.accounts.list_networks(None, 200)["items"]
        return self._stf_render(p, "staff/users.html", status=status, networks=networks,
                                errors=errors or {}, result=result, q=wanted, found=found)

    @page("POST", "/web/staff/users", roles=STAFF)
    def web_staff_user_action(self, p: Page) -> Response:
        """The account named by its id (from a payment, a claim or an absence): suspend,
        close or reactivate, as ``POST /api/staff/users/<id>/<action>``."""
        user_id = p.form.get("user_id", "").strip()
        action = p.form.get("action", "")
        handlers = {"suspend": self.accounts.suspend_user, "close": self.accounts.close_user,
                    "reactivate": self.accounts.reactivate_user}
        if action not in handlers or not user_id:
            return self._stf_users(p, 400, {"_top": p.gettext("Give an account id and an action.")})
        result: dict[str, Any] = {}

        def act() -> None:
            result.update(handlers[action](user_id))
            evict_user(user_id)
            self.dispatch("principal_changed", {"user_id": user_id})

        return attempt(p, act, lambda: self._stf_users(p, result=result),
                       lambda s, e: self._stf_users(p, s, e))

    # --- sales closures and the stock against the forecast -----------------------------------

    @page("GET", "/web/staff/stock", roles=STAFF)
    def web_staff_stock(self, p: Page) -> Response:
        return self._stf_stock(p)

    def _stf_stock(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
                   values: dict[str, Any] | None = None) -> Response:
        days = validated(ForecastQuery, {"days": FORECAST_DAYS})["days"]
        stock = self.leads.stock_levels()["items"]
        forecast = self.plans.forecast(days)
        closures = self.plans.list_sales_closures(None, PAGE_SIZE)["items"]
        return self._stf_render(p, "staff/stock.html", status=status,
                                rows=stock_chart(stock, forecast["items"]), forecast=forecast,
                                closures=closures, tiers=TIERS, bar_width=BAR_WIDTH,
                                errors=errors or {}, values=values or {})

    @page("POST", "/web/staff/sales-closures", roles=STAFF)
    def web_staff_close_sales(self, p: Page) -> Response:
        body = closure_form(p.form)

        def declare() -> None:
            b = validated(ClosureIn, body)
            self.plans.declare_sales_closure(b["start_date"].isoformat(),
                                             b["end_date"].isoformat(), b.get("countries"),
                                             b.get("tiers"), b["reason"])

        values = dict(body, countries=p.form.get("countries", ""), tiers=body.get("tiers", []))
        return attempt(p, declare, lambda: p.redirect("/web/staff/stock",
                                                      flash="closure_declared"),
                       lambda s, e: self._stf_stock(p, s, e, values))

    # --- capture sites and their keys ---------------------------------------------------------

    @page("GET", "/web/staff/capture-sites", roles=STAFF)
    def web_staff_sites(self, p: Page) -> Response:
        return self._stf_sites(p)

    def _stf_sites(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
                   values: dict[str, str] | None = None,
                   created: dict[str, Any] | None = None) -> Response:
        sites = self.leads.list_capture_sites()
        return self._stf_render(p, "staff/sites.html", status=status, sites=sites,
                                created=created, errors=errors or {}, values=values or {})

    @page("POST", "/web/staff/capture-sites", roles=STAFF)
    def web_staff_site_create(self, p: Page) -> Response:
        """The new key is shown on the answer itself, once (never in a redirect)."""
        values = {k: p.form.get(k, "").strip() for k in ("name", "url")}
        created: dict[str, Any] = {}

        def create() -> None:
            b = validated(CaptureSiteIn, values)
            created.update(self.leads.create_capture_site(b["name"], b["url"]))

        return attempt(p, create, lambda: self._stf_sites(p, 201, created=created),
                       lambda s, e: self._stf_sites(p, s, e, values))

    @page("POST", "/web/staff/capture-sites/<site_id>/revoke", roles=STAFF)
    def web_staff_site_revoke(self, p: Page, site_id: str) -> Response:
        return attempt(p, lambda: self.leads.revoke_capture_site(site_id),
                       lambda: p.redirect("/web/staff/capture-sites", flash="site_revoked"),
                       lambda s, e: self._stf_sites(p, s, e))

    # --- terms versions -----------------------------------------------------------------------

    @page("GET", "/web/staff/terms", roles=STAFF)
    def web_staff_terms(self, p: Page) -> Response:
        return self._stf_terms(p)

    def _stf_terms(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
                   values: dict[str, str] | None = None) -> Response:
        limit = validated(TermsQuery, {})["limit"]
        versions = self.accounts.list_terms(limit)["items"]
        return self._stf_render(p, "staff/terms.html", status=status, versions=versions,
                                errors=errors or {}, values=values or {})

    @page("POST", "/web/staff/terms", roles=STAFF)
    def web_staff_terms_publish(self, p: Page) -> Response:
        values = {"version": p.form.get("version", "").strip(), "text": p.form.get("text", "")}

        def publish() -> None:
            if not checked(p, "confirm"):
                raise _confirm_missing(p)
            b = validated(TermsPublishIn, values)
            self.accounts.publish_terms(b["version"], b["text"])

        return attempt(p, publish, lambda: p.redirect("/web/staff/terms",
                                                      flash="terms_published"),
                       lambda s, e: self._stf_terms(p, s, e, values))

    # --- dead letters -------------------------------------------------------------------------

    @page("GET", "/web/staff/dead-letters", roles=STAFF)
    def web_staff_dead_letters(self, p: Page) -> Response:
        return self._stf_dead_letters(p)

    def _stf_dead_letters(self, p: Page, status: int = 200,
                          errors: dict[str, str] | None = None) -> Response:
        """Every service asked at once, as ``GET /api/staff/dead-letters``: a service that
        does not answer in time is named, the others' letters shown."""
        include = p.http.args.get("include_replayed", "") in ("1", "on", "true")
        q = validated(DeadLetterQuery, {"include_replayed": include})
        timeout = float(setting("DEAD_LETTERS_TIMEOUT_SECONDS", DEFAULT_DEAD_LETTERS_TIMEOUT))
        answers, unavailable = ask_each({s: getattr(self, s) for s in SERVICES},
                                        "list_dead_letters", (q["include_replayed"],), timeout)
        listing = combine_dead_letters(answers, unavailable)
        return self._stf_render(p, "staff/dead_letters.html", status=status,
                                letters=listing["items"], unavailable=listing["unavailable"],
                                include_replayed=include, errors=errors or {})

    @page("POST", "/web/staff/dead-letters/<service>/<letter_id>/replay", roles=STAFF)
    def web_staff_replay(self, p: Page, service: str, letter_id: str) -> Response:
        if service not in SERVICES:
            raise not_found()
        return attempt(p, lambda: getattr(self, service).replay_dead_letter(letter_id),
                       lambda: p.redirect("/web/staff/dead-letters", flash="letter_replayed"),
                       lambda s, e: self._stf_dead_letters(p, s, e))


def _confirm_missing(p: Page) -> Invalid:
    message = p.gettext("Tick the box: every member will have to accept the new terms.")
    return Invalid(message, fields={"confirm": message})
