"""The distributor's dashboard and office: the network's announcement, the plans running
with today's quota and a Take button, the leads list (status filter, search, cursor pages)
and a lead's page (status, notes, history).

The same RPCs as ``gateway.routes.network``, ``gateway.routes.plans``, ``gateway.routes.leads``
and ``gateway.routes.office``; leads checks ownership (another user's lead is its 404, shown
as the 404 page).
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from gateway.schemas.office import ExportQuery, LeadListQuery, NoteIn, StatusIn
from gateway.web.http import Page, form_errors, not_found, page, validated
from suivi_common.errors import Invalid, SuiviError

MEMBER = ("user", "admin")
PAGE_SIZE = 25
#: Where ``/web/`` sends the roles that have no distributor dashboard.
ROLE_HOME = {"staff": "/web/staff", "compliance": "/web/compliance"}
PHONE_LIKE = re.compile(r"^\+?[\d .()-]{6,}$")


def search_filters(q: str) -> dict[str, str]:
    """The search box, on what leads can search: personal data is encrypted and matched
    exactly through blind indexes, so an address is an email, digits are a phone number,
    and other words are a city."""
    q = q.strip()
    if not q:
        return {}
    if "@" in q:
        return {"email": q}
    if PHONE_LIKE.match(q):
        return {"phone": q}
    return {"city": q}


class WebOfficeRoutes:
    accounts: Any
    plans: Any
    leads: Any
    export_file: Any  # from gateway.routes.office.OfficeRoutes (GatewayService has both)

    # --- dashboard ------------------------------------------------------------------------

    @page("GET", "/web/")
    def web_dashboard(self, p: Page) -> Response:
        if p.principal.role in ROLE_HOME:  # staff and compliance: their own first page
            return p.redirect(ROLE_HOME[p.principal.role])
        if p.principal.role not in MEMBER:
            return p.redirect("/web/account")
        network = self.accounts.get_network()
        # the list's "today" is not live (plans asks leads only for one plan's view):
        # each running plan is read on its own, as GET /api/plans/<id> does
        plans = [self.plans.get_plan(plan["id"])
                 for plan in self.plans.list_plans(None, 20, "active")["items"]]
        pending = self.plans.list_plans(None, 50, "pending_payment")["items"]
        return p.render("dashboard.html", network=network, plans=plans, pending=pending)

    @page("POST", "/web/plans/<plan_id>/take", roles=MEMBER)
    def web_take(self, p: Page, plan_id: str) -> Response:
        result = self.leads.take(plan_id, None)
        n = len(result.get("leads", []))
        return p.redirect("/web/", flash="taken" if n else "taken_none", n=n)

    # --- the leads list -------------------------------------------------------------------

    @page("GET", "/web/office", roles=MEMBER)
    def web_office(self, p: Page) -> Response:
        args = p.http.args
        status, q, cursor = args.get("status", ""), args.get("q", ""), args.get("cursor", "")
        query = {k: v for k, v in {"status": status, "cursor": cursor,
                                   **search_filters(q)}.items() if v}
        pipeline = self.leads.office_get_pipeline()
        try:
            params = validated(LeadListQuery, {**query, "limit": PAGE_SIZE})
        except Invalid as exc:
            return p.render("office.html", status=400, leads=[], next_url=None, pipeline=pipeline,
                            status_filter=status, q=q, errors=form_errors(exc))
        filters = {k: v for k, v in params.items() if k in ("status", "email", "phone", "city")}
        result = self.leads.office_list_leads(filters, params["sort"], params.get("cursor"),
                                              PAGE_SIZE)
        next_url = None
        if result.get("next_cursor"):
            next_url = "/web/office?" + urlencode({k: v for k, v in {
                "status": status, "q": q, "cursor": result["next_cursor"]}.items() if v})
        export_query = urlencode({k: v for k, v in {"status": status, "q": q}.items() if v})
        return p.render("office.html", leads=result["items"], next_url=next_url,
                        pipeline=pipeline, status_filter=status, q=q, errors={},
                        export_query=f"?{export_query}" if export_query else "")

    # --- export ---------------------------------------------------------------------------

    @page("GET", "/web/office/export.<fmt>", roles=MEMBER)
    def web_export(self, p: Page, fmt: str) -> Response:
        """The list's filters as a file: the API route's own stream (``export_file``), so
        the same bytes, the same one-export-at-a-time rule (a 429 is a readable page), and
        the column headings in the page's language."""
        if fmt not in ("xlsx", "csv"):
            raise not_found()
        args = p.http.args
        query = {k: v for k, v in {"status": args.get("status", ""),
                                   **search_filters(args.get("q", ""))}.items() if v}
        params = validated(ExportQuery, {**query, "lang": p.lang})
        filters = {k: v for k, v in params.items() if k != "lang"}
        return self.export_file(filters, fmt, params["lang"])

    # --- one lead -------------------------------------------------------------------------

    @page("GET", "/web/office/leads/<lead_id>", roles=MEMBER)
    def web_lead(self, p: Page, lead_id: str) -> Response:
        return self._lead_page(p, lead_id)

    def _lead_page(self, p: Page, lead_id: str, status: int = 200,
                   errors: dict[str, str] | None = None, note: str = "") -> Response:
        lead = self.leads.office_get_lead(lead_id)  # a 404 for another user's lead
        history = self.leads.office_lead_history(lead_id, None, 100)["items"]
        notes = self.leads.office_list_notes(lead_id, None, 100)["items"]
        pipeline = self.leads.office_get_pipeline()
        return p.render("lead.html", status=status, lead=lead, history=history, notes=notes,
                        pipeline=pipeline, errors=errors or {}, note=note)

    @page("POST", "/web/office/leads/<lead_id>/status", roles=MEMBER)
    def web_lead_status(self, p: Page, lead_id: str) -> Response:
        note = p.form.get("note", "").strip()
        try:
            body = validated(StatusIn, {"status": p.form.get("status", ""),
                                        "reopen": p.form.get("reopen") == "1"})
            if note:
                validated(NoteIn, {"text": note})
            self.leads.office_change_status(lead_id, body["status"], body["reopen"])
        except Invalid as exc:
            return self._lead_page(p, lead_id, 400, form_errors(exc) or {"status": exc.message},
                                   note)
        except SuiviError as exc:
            if exc.status == 404:
                raise
            return self._lead_page(p, lead_id, exc.status, {"status": p.error_text(exc)}, note)
        if note:
            self.leads.office_add_note(lead_id, note)
        return p.redirect(f"/web/office/leads/{lead_id}", flash="status_changed")

    @page("POST", "/web/office/leads/<lead_id>/notes", roles=MEMBER)
    def web_lead_note(self, p: Page, lead_id: str) -> Response:
        text = p.form.get("text", "")
        try:
            body = validated(NoteIn, {"text": text})
            self.leads.office_add_note(lead_id, body["text"])
        except Invalid as exc:
            errors = form_errors(exc)
            return self._lead_page(p, lead_id, 400, {"note": errors.get("text", exc.message)},
                                   text)
        except SuiviError as exc:
            if exc.status == 404:
                raise
            return self._lead_page(p, lead_id, exc.status, {"note": p.error_text(exc)}, text)
        return p.redirect(f"/web/office/leads/{lead_id}", flash="note_added")
