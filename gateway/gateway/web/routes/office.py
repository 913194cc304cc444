"""The distributor's dashboard and office: the network's announcement, the plans running
with today's quota and a Take button, the leads list (filters, search, cursor pages, bulk
delete) and a lead's page (edit, status, notes, full history, emails and "send an email",
refund claim). Work documents and statistics are their own mixins
(``office_documents``, ``office_stats``), part of this one.

The same RPCs as ``gateway.routes.network``, ``gateway.routes.plans``, ``gateway.routes.leads``,
``gateway.routes.office`` and ``gateway.routes.mailer``, each form read through the JSON
route's schema; leads and the mailer check ownership (another user's lead is their 404,
shown as the 404 page).
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from gateway.routes.office import _filters
from gateway.schemas.mailer import LeadEmailIn
from gateway.schemas.office import (
    REASONS,
    BulkDeleteIn,
    ExportQuery,
    LeadListQuery,
    NoteIn,
    OfficeLeadPatchIn,
    RefundClaimIn,
    StatusIn,
)
from gateway.web.http import (
    ERROR_MESSAGES,
    FLASH,
    N_,
    Page,
    form_errors,
    not_found,
    page,
    validated,
)
from gateway.web.routes.office_documents import WebDocumentRoutes
from gateway.web.routes.office_stats import WebStatsRoutes
from gateway.web.routes.subscription import schema_choices
from suivi_common.errors import Invalid, SuiviError

MEMBER = ("user", "admin")
PAGE_SIZE = 25
HISTORY_PAGE = 50
EMAILS_PAGE = 20
#: Where ``/web/`` sends the roles that have no distributor dashboard.
ROLE_HOME = {"staff": "/web/staff", "compliance": "/web/compliance"}
PHONE_LIKE = re.compile(r"^\+?[\d .()-]{6,}$")
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
#: The list's filters, as ``LeadFilterQuery`` names them (the page's query string is the
#: API's, so the export link carries the office kind too).
LIST_FILTERS = ("status", "origin", "kind", "city", "created_from", "created_to",
                "inactive_since")
ORIGINS = ("purchased", "personal", "site")
#: The lead's editable fields, in the form's order (``OfficeLeadPatchIn``).
EDIT_FIELDS = ("first_name", "last_name", "email", "mobile", "landline", "call_window",
               "postal_code", "city", "country", "professional_situation", "time_available",
               "birth_date", "income_goal")

FLASH.update({
    "lead_saved": N_("Lead saved."),
    "lead_unchanged": N_("Nothing changed."),
    "email_queued": N_("Email queued; it appears below once sent."),
    "claim_filed": N_("Refund claim filed; staff will decide."),
    "bulk_deleted": N_("%(deleted)s leads deleted; %(kept)s kept (a pending refund claim "
                       "or a restriction)."),
    "document_uploaded": N_("Document uploaded."),
    "document_deleted": N_("Document deleted."),
    "document_shared": N_("Sharing changed."),
})

ERROR_MESSAGES.update({
    "refund_claim_lead_erased": N_("This lead was erased: it cannot be refunded."),
    "refund_claim_personal_lead": N_("Only leads bought from the platform can be refunded."),
    "refund_claim_lead_edited": N_("A lead you have edited cannot be refunded."),
    "refund_claim_already_claimed": N_("A refund was already claimed for this lead."),
    "refund_claim_window_closed": N_("The time to claim a refund for this lead is over."),
    "lead_has_no_email": N_("This lead has no email address."),
    "document_too_large": N_("A document is at most 10 MiB."),
    "document_empty": N_("The file is empty."),
    "document_quota_exceeded": N_("Your documents' space is full: delete a document first."),
    "unsupported_document_type": N_("This kind of file cannot be kept: send a PDF, an image, "
                                    "an office document or a text file."),
    "form_too_large": N_("The form is too large."),
    "documents_busy": N_("Too many documents are moving right now; try again shortly."),
    "export_in_progress": N_("An export is already being prepared; try again in a moment."),
})


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


def list_args(args: Any) -> dict[str, str]:
    """The list's filters and search as typed (the query string of its links)."""
    return {k: args.get(k, "").strip() for k in (*LIST_FILTERS, "q") if args.get(k, "").strip()}


def list_query(raw: dict[str, str]) -> dict[str, str]:
    """The typed filters as the API's: the search box adds an email, a phone or a city
    (a city typed in its own field wins over words in the box)."""
    query = {k: v for k, v in raw.items() if k != "q"}
    for key, value in search_filters(raw.get("q", "")).items():
        query.setdefault(key, value)
    return query


def changed_fields(form: Any, lead: dict[str, Any]) -> dict[str, str]:
    """The edit form's fields that differ from the lead (an unchanged field is not sent,
    so it leaves no history line); an emptied field is sent empty (leads clears it)."""
    out = {}
    for name in EDIT_FIELDS:
        if name not in form:
            continue
        value = form.get(name, "").strip()
        if value != str(lead.get(name) or ""):
            out[name] = value
    return out


def email_body(form: Any) -> dict[str, str]:
    """The send form as ``LeadEmailIn``: a template, or a subject and a body."""
    if form.get("template_id", "").strip():
        return {"template_id": form.get("template_id", "").strip()}
    return {k: form.get(k, "") for k in ("subject", "body") if form.get(k, "").strip()}


def refused(p: Page, exc: SuiviError, top: str,
            shown: tuple[str, ...] = ()) -> dict[str, str]:
    """A refusal as the page shows it: the messages of the form's fields (``shown``)
    beside them, the rest and the refusal itself under ``top``."""
    if not isinstance(exc, Invalid):
        return {top: p.error_text(exc)}
    fields = form_errors(exc)
    if not fields:
        return {top: p.error_text(exc)}
    others = [f"{name}: {text}" for name, text in fields.items() if name not in shown]
    message = " ".join([p.gettext("Some fields are not valid."), *others])
    return {top: message, **{k: v for k, v in fields.items() if k in shown}}


class WebOfficeRoutes(WebDocumentRoutes, WebStatsRoutes):
    accounts: Any
    plans: Any
    leads: Any
    mailer: Any
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
        # the reminders are the services' rules: accounts says whether the subscription is
        # ending (its email's rule), leads counts the stale leads and names their day
        subscription = self.accounts.get_me().get("subscription")
        try:
            stale = self.leads.office_stale_leads()
        except SuiviError as exc:  # an office not open has no leads to remind of
            if exc.status == 401:
                raise
            stale = None
        return p.render("dashboard.html", network=network, plans=plans, pending=pending,
                        subscription=subscription, stale=stale)

    @page("POST", "/web/plans/<plan_id>/take", roles=MEMBER)
    def web_take(self, p: Page, plan_id: str) -> Response:
        result = self.leads.take(plan_id, None)
        n = len(result.get("leads", []))
        return p.redirect("/web/", flash="taken" if n else "taken_none", n=n)

    # --- the leads list -------------------------------------------------------------------

    def _office_kinds(self) -> list[str] | None:
        """The lead kinds to filter by: ``LeadFilterQuery.kind``'s choices (the API's)."""
        return schema_choices(LeadListQuery, "kind")[0]

    @page("GET", "/web/office", roles=MEMBER)
    def web_office(self, p: Page) -> Response:
        raw = list_args(p.http.args)
        cursor = p.http.args.get("cursor", "")
        pipeline = self.leads.office_get_pipeline()
        context = {"pipeline": pipeline, "f": raw, "origins": ORIGINS,
                   "kinds": self._office_kinds(), "filtered": bool(list_query(raw))}
        query = urlencode(raw)
        try:
            params = validated(LeadListQuery, {**list_query(raw), "limit": PAGE_SIZE,
                                               **({"cursor": cursor} if cursor else {})})
        except Invalid as exc:
            return p.render("office.html", status=400, leads=[], next_url=None,
                            first_url=None, errors=form_errors(exc), export_query="",
                            **context)
        result = self.leads.office_list_leads(_filters(params), params["sort"],
                                              params.get("cursor"), PAGE_SIZE)
        next_url = None
        if result.get("next_cursor"):
            next_url = "/web/office?" + urlencode({**raw, "cursor": result["next_cursor"]})
        return p.render("office.html", leads=result["items"], next_url=next_url,
                        first_url=f"/web/office?{query}" if cursor else None, errors={},
                        export_query=f"?{query}" if query else "", **context)

    @page("GET", "/leads", auth=False)
    def web_stale_link(self, p: Page) -> Response:
        """The stale-lead reminder's link (``{PUBLIC_URL}/leads?inactive_since=YYYY-MM-DD``):
        on to the office list with that filter, where the stale leads can be deleted."""
        day = p.http.args.get("inactive_since", "").strip()
        query = f"?{urlencode({'inactive_since': day})}" if ISO_DAY.fullmatch(day) else ""
        return p.redirect(f"/web/office{query}")

    # --- bulk delete ----------------------------------------------------------------------

    @page("GET", "/web/office/bulk-delete", roles=MEMBER)
    def web_bulk_delete_confirm(self, p: Page) -> Response:
        return self._office_bulk_page(p, list_args(p.http.args))

    def _office_bulk_page(self, p: Page, raw: dict[str, str], status: int = 200,
                          errors: dict[str, str] | None = None) -> Response:
        """The leads the filters name (a first page of them), and the button that deletes
        them all: nothing is deleted before this page's form is sent."""
        leads: list[dict[str, Any]] = []
        more = False
        errors = dict(errors or {})
        try:
            params = validated(LeadListQuery, {**list_query(raw), "limit": PAGE_SIZE})
            filters = _filters(params)
            if filters:
                result = self.leads.office_list_leads(filters, params["sort"], None, PAGE_SIZE)
                leads, more = result["items"], bool(result.get("next_cursor"))
        except Invalid as exc:
            errors.update(refused(p, exc, "_top"))
            status = 400
        return p.render("bulk_delete.html", status=status, f=raw, leads=leads, more=more,
                        errors=errors, back=f"/web/office?{urlencode(raw)}")

    @page("POST", "/web/office/bulk-delete", roles=MEMBER)
    def web_bulk_delete(self, p: Page) -> Response:
        raw = list_args(p.form)
        try:
            params = validated(ExportQuery, list_query(raw))  # the list's filters, no paging
            body = validated(BulkDeleteIn, {"filter": _filters(params)})
            result = self.leads.office_bulk_delete(body["filter"])
        except SuiviError as exc:
            if exc.status in (401, 404):
                raise
            return self._office_bulk_page(p, raw, exc.status,
                                          refused(p, exc, "_top"))
        return p.redirect("/web/office", flash="bulk_deleted", deleted=result["deleted"],
                          kept=result["kept"])

    # --- export ---------------------------------------------------------------------------

    @page("GET", "/web/office/export.<fmt>", roles=MEMBER)
    def web_export(self, p: Page, fmt: str) -> Response:
        """The list's filters as a file: the API route's own stream (``export_file``), so
        the same bytes, the same one-export-at-a-time rule (a 429 is a readable page), and
        the column headings in the page's language."""
        if fmt not in ("xlsx", "csv"):
            raise not_found()
        params = validated(ExportQuery, {**list_query(list_args(p.http.args)), "lang": p.lang})
        return self.export_file(_filters(params), fmt, params["lang"])

    # --- one lead -------------------------------------------------------------------------

    @page("GET", "/web/office/leads/<lead_id>", roles=MEMBER)
    def web_lead(self, p: Page, lead_id: str) -> Response:
        return self._lead_page(p, lead_id)

    def _lead_page(self, p: Page, lead_id: str, status: int = 200,
                   errors: dict[str, str] | None = None, note: str = "",
                   values: dict[str, Any] | None = None) -> Response:
        lead = self.leads.office_get_lead(lead_id)  # a 404 for another user's lead
        args = p.http.args if p.http.method == "GET" else {}
        history_cursor = args.get("history") or None
        emails_cursor = args.get("emails") or None
        history = self.leads.office_lead_history(lead_id, history_cursor, HISTORY_PAGE)
        notes = self.leads.office_list_notes(lead_id, None, 100)["items"]
        pipeline = self.leads.office_get_pipeline()
        emails = self.mailer.list_lead_emails(lead_id, emails_cursor, EMAILS_PAGE)
        templates = self.mailer.list_templates(None, 100)["items"]
        gmail = self.mailer.google_status()
        opposition = self.mailer.lead_email_opposition(lead_id)
        base = f"/web/office/leads/{lead_id}"
        history_next = (f"{base}?{urlencode({'history': history['next_cursor']})}#history-title"
                        if history.get("next_cursor") else None)
        emails_next = (f"{base}?{urlencode({'emails': emails['next_cursor']})}#emails-title"
                       if emails.get("next_cursor") else None)
        return p.render("lead.html", status=status, lead=lead, history=history["items"],
                        notes=notes, pipeline=pipeline, errors=errors or {}, note=note,
                        values=values or {}, edit_fields=EDIT_FIELDS, emails=emails["items"],
                        templates=templates, gmail=gmail, opposition=opposition,
                        reasons=REASONS, history_next=history_next,
                        history_first=f"{base}#history-title" if history_cursor else None,
                        emails_next=emails_next,
                        emails_first=f"{base}#emails-title" if emails_cursor else None)

    def _lead_refused(self, p: Page, lead_id: str, exc: SuiviError, top: str,
                      values: dict[str, Any], shown: tuple[str, ...]) -> Response:
        if exc.status in (401, 404):
            raise exc
        return self._lead_page(p, lead_id, exc.status, refused(p, exc, top, shown),
                               values=values)

    @page("POST", "/web/office/leads/<lead_id>/edit", roles=MEMBER)
    def web_lead_edit(self, p: Page, lead_id: str) -> Response:
        values = {name: p.form.get(name, "") for name in EDIT_FIELDS}
        try:
            lead = self.leads.office_get_lead(lead_id)
            changes = changed_fields(p.form, lead)
            if not changes:
                return p.redirect(f"/web/office/leads/{lead_id}", flash="lead_unchanged")
            self.leads.office_update_lead(lead_id, validated(OfficeLeadPatchIn, changes))
        except SuiviError as exc:
            return self._lead_refused(p, lead_id, exc, "edit", values, EDIT_FIELDS)
        return p.redirect(f"/web/office/leads/{lead_id}", flash="lead_saved")

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

    @page("POST", "/web/office/leads/<lead_id>/emails", roles=MEMBER)
    def web_lead_email(self, p: Page, lead_id: str) -> Response:
        """"Send an email": the mailer's office send, as ``POST /api/leads/{id}/emails``."""
        values = {k: p.form.get(k, "") for k in ("template_id", "subject", "body")}
        try:
            b = validated(LeadEmailIn, email_body(p.form))
            self.mailer.send_lead_email(lead_id, b.get("template_id"), b.get("subject"),
                                        b.get("body"))
        except SuiviError as exc:
            return self._lead_refused(p, lead_id, exc, "mail", values, tuple(values))
        return p.redirect(f"/web/office/leads/{lead_id}#emails-title", flash="email_queued")

    @page("POST", "/web/office/leads/<lead_id>/refund-claim", roles=MEMBER)
    def web_lead_claim(self, p: Page, lead_id: str) -> Response:
        values = {k: p.form.get(k, "") for k in ("reason", "comment")}
        try:
            b = validated(RefundClaimIn, {"reason": values["reason"],
                                          "comment": values["comment"].strip() or None})
            self.leads.refund_claim_file(lead_id, b["reason"], b["comment"])
        except SuiviError as exc:
            return self._lead_refused(p, lead_id, exc, "claim", values, tuple(values))
        return p.redirect(f"/web/office/leads/{lead_id}", flash="claim_filed")
