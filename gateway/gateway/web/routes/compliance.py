"""The compliance role's pages (processing annex IV.8, IV.9): data-subject requests
(register one, send it to the services, follow each service's task, deny or extend it,
read its receipt once closed) and breaches (declare one, follow the 72-hour countdown
and the notices' fan-out to the controllers, send a follow-up, recount).

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
    BreachIn,
    BreachUpdateIn,
    DenyIn,
    ExtendIn,
    RequestIn,
    RequestsQuery,
)
from gateway.web.http import Page, page, validated
from gateway.web.routes.roles_common import attempt, lines, pairs, paris_instant
from suivi_common.errors import Conflict

COMPLIANCE = ("compliance",)
PAGE_SIZE = 50


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
        return p.render("compliance/breach.html", status=status, breach=breach,
                        controllers=controllers, hours=remaining // 3600,
                        minutes=remaining % 3600 // 60, errors=errors or {})

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
