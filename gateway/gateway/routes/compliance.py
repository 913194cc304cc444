"""Compliance (terms, processing annex): routes under ``/api/compliance/*`` are for the
``compliance`` role only (platform staff is another role: 403); controllers (users and
admins) answer breach notices and sub-processor changes through their own routes. The
compliance service checks the role again."""
from typing import Any

from gateway.http import Req, api
from gateway.schemas.common import page_of
from gateway.schemas.compliance import (
    AuditEntryOut,
    AuditQuery,
    AuditVerifyOut,
    DenyIn,
    ExtendIn,
    ReceiptOut,
    RequestIn,
    RequestOut,
    RequestsQuery,
    RequestSummaryOut,
)

COMPLIANCE = ("compliance",)


class ComplianceRoutes:
    compliance: Any

    # --- the audit trail (annex IV.15) ---------------------------------------------------
    @api("GET", "/api/compliance/audit", roles=COMPLIANCE, query=AuditQuery,
         response=page_of(AuditEntryOut), tags=("compliance",),
         summary="The audit trail, newest first; each entry chained to the previous by hash")
    def audit_log(self, req: Req) -> Any:
        q = req.query
        return self.compliance.audit_log(q.get("cursor"), q["limit"], q.get("kind"))

    @api("GET", "/api/compliance/audit/verify", roles=COMPLIANCE, response=AuditVerifyOut,
         tags=("compliance",), summary="Check the whole chain: a gap or an edit is reported")
    def audit_verify(self, req: Req) -> Any:
        return self.compliance.audit_verify()

    # --- data-subject requests (annex IV.8) ----------------------------------------------
    @api("POST", "/api/compliance/requests", roles=COMPLIANCE, body=RequestIn,
         response=RequestOut, status=201, tags=("compliance",),
         summary="Register a data-subject request; due one month after receipt")
    def register_request(self, req: Req) -> Any:
        b = req.body
        return self.compliance.register_request(
            b["kind"], b.get("email"), b.get("phone"), b["received_at"].isoformat(),
            b.get("note"), b.get("changes"))

    @api("GET", "/api/compliance/requests", roles=COMPLIANCE, query=RequestsQuery,
         response=page_of(RequestSummaryOut), tags=("compliance",),
         summary="Data-subject requests, newest first")
    def list_requests(self, req: Req) -> Any:
        q = req.query
        return self.compliance.list_requests(q.get("status"), q.get("cursor"), q["limit"])

    @api("GET", "/api/compliance/requests/<request_id>", roles=COMPLIANCE,
         response=RequestOut, tags=("compliance",),
         summary="A request, with each service's task (late ones flagged)")
    def get_request(self, req: Req, request_id: str) -> Any:
        return self.compliance.get_request(request_id)

    @api("POST", "/api/compliance/requests/<request_id>/process", roles=COMPLIANCE,
         response=RequestOut, tags=("compliance",),
         summary="Send one task per service holding personal data (resumes a failed request)")
    def process_request(self, req: Req, request_id: str) -> Any:
        return self.compliance.process_request(request_id)

    @api("POST", "/api/compliance/requests/<request_id>/deny", roles=COMPLIANCE, body=DenyIn,
         response=RequestOut, tags=("compliance",), summary="Deny a request, with a reason")
    def deny_request(self, req: Req, request_id: str) -> Any:
        return self.compliance.deny_request(request_id, req.body["reason"])

    @api("POST", "/api/compliance/requests/<request_id>/extensions", roles=COMPLIANCE,
         body=ExtendIn, response=RequestOut, tags=("compliance",),
         summary="Extend the deadline (two further months at most), with a reason")
    def extend_request(self, req: Req, request_id: str) -> Any:
        return self.compliance.extend_request(request_id, req.body["months"], req.body["reason"])

    @api("GET", "/api/compliance/requests/<request_id>/receipt", roles=COMPLIANCE,
         response=ReceiptOut, tags=("compliance",),
         summary="What each service found and did, once the request is closed")
    def request_receipt(self, req: Req, request_id: str) -> Any:
        return self.compliance.request_receipt(request_id)
