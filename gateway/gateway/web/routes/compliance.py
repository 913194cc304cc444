"""The compliance role's pages (processing annex IV.6, IV.8, IV.9, IV.14, IV.15):
data-subject requests (register one, send it to the services, follow each service's task,
deny or extend it, read its receipt once closed), breaches (declare one, follow the 72-hour
countdown and the notices' fan-out to the controllers, send a follow-up, recount),
sub-processor changes and the objections to them, the register of processing activities,
and the audit trail with the verification of its chain.

The RPCs of ``gateway.routes.compliance``, with its schemas: a ``datetime-local`` field
is read as Paris time and sent with its offset, as the JSON schemas want. The compliance
service checks the role again.
"""
from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from gateway.schemas.compliance import (
    BREACH_SERVICES,
    DATA_CATEGORIES,
    KINDS,
    REQUEST_STATUSES,
    AuditQuery,
    BreachIn,
    BreachUpdateIn,
    DenyIn,
    ExtendIn,
    RequestIn,
    RequestsQuery,
    SubprocessorChangeIn,
)
from gateway.web.http import FLASH, N_, Page, page, validated
from gateway.web.routes.roles_common import attempt, lines, pairs, paris_instant
from suivi_common.errors import Conflict

COMPLIANCE = ("compliance",)
PAGE_SIZE = 50
#: the subprocessor change form's fields (the JSON body's)
CHANGE_FIELDS = ("kind", "name", "contact", "activity", "country", "contract_start",
                 "contract_end", "replaces", "effective_from")

FLASH.update({
    "subprocessor_announced": N_("Change announced; every controller is told in writing."),
})


def change_body(form: Any) -> dict[str, Any]:
    """The sub-processor change form as ``SubprocessorChangeIn`` reads the JSON body: the
    country upper-cased, an empty end or replaced sub-processor left out (the schema says
    whether a replacement needs one), the effective instant read as Paris time."""
    values = {k: form.get(k, "").strip() for k in CHANGE_FIELDS}
    body: dict[str, Any] = {k: values[k] for k in ("kind", "name", "contact", "activity",
                                                   "contract_start")}
    body["country"] = values["country"].upper()
    body["effective_from"] = paris_instant(values["effective_from"])
    if values["contract_end"]:
        body["contract_end"] = values["contract_end"]
    if values["replaces"]:
        body["replaces"] = values["replaces"]
    return body


def notices_total(notices: dict[str, Any]) -> int:
    """Every notice of a breach: the counts are by status (``requested`` ones are still
    on their way)."""
    return sum(int(notices.get(k) or 0) for k in ("requested", "sent", "failed"))


def progress_percent(done: Any, total: Any) -> int:
    """How far a fan-out is, 0 to 100 (nothing to do counts as done)."""
    try:
        d, t = int(done or 0), int(total or 0)
    except (TypeError, ValueError):
        return 0
    if t <= 0:
        return 100
    return max(0, min(100, d * 100 // t))


def _cpl_iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


class WebComplianceRoutes:
    compliance: Any

    # --- data-subject requests --------------------------------------------------------------

    @page("GET", "/web/compliance", roles=COMPLIANCE)
    def web_compliance_requests(self, p: Page) -> Response:
        return self._cpl_requests(p)

    def _cpl_requests(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
                  values: dict[str, str] | None = None) -> Response:
        wanted = p.http.args.get("status", "")
        q = validated(RequestsQuery, {"limit": PAGE_SIZE, **({"status": wanted} if wanted
                                                             else {})})
        requests = self.compliance.list_requests(q.get("status"), None, PAGE_SIZE)["items"]
        return p.render("compliance/requests.html", status=status, requests=requests,
                        kinds=KINDS, statuses=REQUEST_STATUSES, status_filter=wanted,
                        errors=errors or {}, values=values or {})

    @page("POST", "/web/compliance/requests", roles=COMPLIANCE)
    def web_compliance_register(self, p: Page) -> Response:
        values = {k: p.form.get(k, "").strip() for k in ("kind", "email", "phone",
                                                         "received_at", "note", "changes")}
        created: dict[str, Any] = {}

        def register() -> None:
            b = validated(RequestIn, {
                "kind": values["kind"], "email": values["email"] or None,
                "phone": values["phone"] or None,
                "received_at": paris_instant(values["received_at"]),
                "note": values["note"] or None,
                "changes": pairs(values["changes"]) or None})
            created.update(self.compliance.register_request(
                b["kind"], b.get("email"), b.get("phone"), b["received_at"].isoformat(),
                b.get("note"), b.get("changes")))

        return attempt(p, register,
                       lambda: p.redirect(f"/web/compliance/requests/{created['id']}",
                                          flash="request_registered"),
                       lambda s, e: self._cpl_requests(p, s, e, values))

    @page("GET", "/web/compliance/requests/<request_id>", roles=COMPLIANCE)
    def web_compliance_request(self, p: Page, request_id: str) -> Response:
        return self._cpl_request(p, request_id)

    def _cpl_request(self, p: Page, request_id: str, status: int = 200,
                 errors: dict[str, str] | None = None) -> Response:
        request = self.compliance.get_request(request_id)
        receipt = None
        if request["status"] in ("completed", "denied"):
            try:
                receipt = self.compliance.request_receipt(request_id)
            except Conflict:
                receipt = None
        return p.render("compliance/request.html", status=status, request=request,
                        receipt=receipt, errors=errors or {})

    def _cpl_request_action(self, p: Page, request_id: str, action: Any, flash: str) -> Response:
        return attempt(p, action, lambda: p.redirect(f"/web/compliance/requests/{request_id}",
                                                     flash=flash),
                       lambda s, e: self._cpl_request(p, request_id, s, e))

    @page("POST", "/web/compliance/requests/<request_id>/process", roles=COMPLIANCE)
    def web_compliance_process(self, p: Page, request_id: str) -> Response:
        return self._cpl_request_action(p, request_id,
                                    lambda: self.compliance.process_request(request_id),
                                    "request_processing")

    @page("POST", "/web/compliance/requests/<request_id>/deny", roles=COMPLIANCE)
    def web_compliance_deny(self, p: Page, request_id: str) -> Response:
        def deny() -> None:
            b = validated(DenyIn, {"reason": p.form.get("reason", "").strip()})
            self.compliance.deny_request(request_id, b["reason"])

        return self._cpl_request_action(p, request_id, deny, "request_updated")

    @page("POST", "/web/compliance/requests/<request_id>/extensions", roles=COMPLIANCE)
    def web_compliance_extend(self, p: Page, request_id: str) -> Response:
        def extend() -> None:
            b = validated(ExtendIn, {"months": p.form.get("months", ""),
                                     "reason": p.form.get("reason", "").strip()})
            self.compliance.extend_request(request_id, b["months"], b["reason"])

        return self._cpl_request_action(p, request_id, extend, "request_updated")

    # --- breaches ---------------------------------------------------------------------------

    @page("GET", "/web/compliance/breaches", roles=COMPLIANCE)
    def web_compliance_breaches(self, p: Page) -> Response:
        return self._cpl_breaches(p)

    def _cpl_breaches(self, p: Page, status: int = 200, errors: dict[str, str] | None = None,
                  values: dict[str, Any] | None = None) -> Response:
        breaches = self.compliance.list_breaches(None, PAGE_SIZE)["items"]
        return p.render("compliance/breaches.html", status=status, breaches=breaches,
                        notices_total=notices_total,
                        categories=DATA_CATEGORIES, services=BREACH_SERVICES,
                        errors=errors or {}, values=values or {})

    @page("POST", "/web/compliance/breaches", roles=COMPLIANCE)
    def web_compliance_declare(self, p: Page) -> Response:
        f = p.form
        values: dict[str, Any] = {k: f.get(k, "").strip() for k in (
            "nature", "detected_at", "scope_kind", "scope_ids", "changed_from", "changed_to",
            "likely_consequences", "measures_taken")}
        values["data_categories"] = f.getlist("data_categories")
        values["services"] = f.getlist("services")
        created: dict[str, Any] = {}

        def declare() -> None:
            scope: dict[str, Any] = {"kind": values["scope_kind"],
                                     "ids": lines(values["scope_ids"])}
            for key in ("changed_from", "changed_to"):
                if values[key]:
                    scope[key] = paris_instant(values[key])
            b = validated(BreachIn, {
                "nature": values["nature"], "detected_at": paris_instant(values["detected_at"]),
                "data_categories": values["data_categories"], "services": values["services"],
                "scope": scope, "likely_consequences": values["likely_consequences"],
                "measures_taken": values["measures_taken"]})
            s = dict(b["scope"], changed_from=_cpl_iso(b["scope"].get("changed_from")),
                     changed_to=_cpl_iso(b["scope"].get("changed_to")))
            created.update(self.compliance.declare_breach(
                b["nature"], b["detected_at"].isoformat(), b["data_categories"], b["services"],
                s, b["likely_consequences"], b["measures_taken"]))

        return attempt(p, declare,
                       lambda: p.redirect(f"/web/compliance/breaches/{created['id']}",
                                          flash="breach_declared"),
                       lambda s, e: self._cpl_breaches(p, s, e, values))

    @page("GET", "/web/compliance/breaches/<breach_id>", roles=COMPLIANCE)
    def web_compliance_breach(self, p: Page, breach_id: str) -> Response:
        return self._cpl_breach(p, breach_id)

    def _cpl_breach(self, p: Page, breach_id: str, status: int = 200,
                errors: dict[str, str] | None = None) -> Response:
        breach = self.compliance.get_breach(breach_id)
        controllers = self.compliance.breach_controllers(breach_id, None, 200)["items"]
        remaining = max(0, int(breach["countdown"]["seconds_remaining"]))
        notices = breach["progress"]["notices"]
        return p.render("compliance/breach.html", status=status, breach=breach,
                        controllers=controllers, hours=remaining // 3600,
                        minutes=remaining % 3600 // 60, errors=errors or {},
                        elapsed_percent=100 - progress_percent(remaining, 72 * 3600),
                        notices_total=notices_total(notices),
                        sent_percent=progress_percent(notices["sent"], notices_total(notices)))

    @page("POST", "/web/compliance/breaches/<breach_id>/updates", roles=COMPLIANCE)
    def web_compliance_breach_update(self, p: Page, breach_id: str) -> Response:
        def update() -> None:
            b = validated(BreachUpdateIn, {
                "text": p.form.get("text", "").strip(),
                "measures_taken": p.form.get("measures_taken", "").strip() or None,
                "likely_consequences": p.form.get("likely_consequences", "").strip() or None})
            self.compliance.breach_update(breach_id, b["text"], b.get("measures_taken"),
                                          b.get("likely_consequences"))

        return attempt(p, update, lambda: p.redirect(f"/web/compliance/breaches/{breach_id}",
                                                     flash="breach_updated"),
                       lambda s, e: self._cpl_breach(p, breach_id, s, e))

    @page("POST", "/web/compliance/breaches/<breach_id>/recount", roles=COMPLIANCE)
    def web_compliance_breach_recount(self, p: Page, breach_id: str) -> Response:
        return attempt(p, lambda: self.compliance.breach_recount(breach_id),
                       lambda: p.redirect(f"/web/compliance/breaches/{breach_id}",
                                          flash="breach_updated"),
                       lambda s, e: self._cpl_breach(p, breach_id, s, e))

    # --- sub-processors ---------------------------------------------------------------------

    @page("GET", "/web/compliance/subprocessors", roles=COMPLIANCE)
    def web_compliance_subprocessors(self, p: Page) -> Response:
        return self._cpl_subprocessors(p)

    def _cpl_subprocessors(self, p: Page, status: int = 200,
                           errors: dict[str, str] | None = None,
                           values: dict[str, str] | None = None) -> Response:
        registry = self.compliance.subprocessor_registry()["items"]
        changes = self.compliance.subprocessor_changes()["items"]
        names = {s["id"]: s["name"] for s in registry}
        return p.render("compliance/subprocessors.html", status=status, registry=registry,
                        changes=changes, names=names, errors=errors or {},
                        values=values or {})

    @page("POST", "/web/compliance/subprocessors/changes", roles=COMPLIANCE)
    def web_compliance_announce(self, p: Page) -> Response:
        values = {k: p.form.get(k, "").strip() for k in CHANGE_FIELDS}

        def announce() -> None:
            b = dict(validated(SubprocessorChangeIn, change_body(p.form)))
            b["contract_start"] = b["contract_start"].isoformat()
            b["contract_end"] = b["contract_end"].isoformat() if b.get("contract_end") else None
            b["effective_from"] = b["effective_from"].isoformat()
            self.compliance.announce_subprocessor_change(b)

        return attempt(p, announce, lambda: p.redirect("/web/compliance/subprocessors",
                                                       flash="subprocessor_announced"),
                       lambda s, e: self._cpl_subprocessors(p, s, e, values))

    @page("GET", "/web/compliance/subprocessors/changes/<change_id>", roles=COMPLIANCE)
    def web_compliance_objections(self, p: Page, change_id: str) -> Response:
        objections = self.compliance.subprocessor_objections(change_id)["items"]
        changes = self.compliance.subprocessor_changes()["items"]
        change = next((c for c in changes if c["id"] == change_id), None)
        registry = self.compliance.subprocessor_registry()["items"]
        names = {s["id"]: s["name"] for s in registry}
        return p.render("compliance/objections.html", change=change, change_id=change_id,
                        objections=objections, names=names)

    # --- the register -----------------------------------------------------------------------

    @page("GET", "/web/compliance/register", roles=COMPLIANCE)
    def web_compliance_register_of_activities(self, p: Page) -> Response:
        return p.render("compliance/register.html", register=self.compliance.processing_register())

    # --- the audit trail --------------------------------------------------------------------

    @page("GET", "/web/compliance/audit", roles=COMPLIANCE)
    def web_compliance_audit(self, p: Page) -> Response:
        return self._cpl_audit(p)

    @page("GET", "/web/compliance/audit/verify", roles=COMPLIANCE)
    def web_compliance_audit_verify(self, p: Page) -> Response:
        """The whole chain checked (a read: no form to post), shown above the trail."""
        return self._cpl_audit(p, self.compliance.audit_verify())

    def _cpl_audit(self, p: Page, verification: dict[str, Any] | None = None) -> Response:
        args = {k: p.http.args.get(k, "").strip() for k in ("kind", "cursor")}
        q = validated(AuditQuery, {"limit": PAGE_SIZE, **{k: v for k, v in args.items() if v}})
        entries = self.compliance.audit_log(q.get("cursor"), q["limit"], q.get("kind"))
        return p.render("compliance/audit.html", entries=entries["items"],
                        next_cursor=entries.get("next_cursor"), kind=args["kind"],
                        verification=verification)
