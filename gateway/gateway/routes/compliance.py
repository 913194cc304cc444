"""Compliance (terms, processing annex): routes under ``/api/compliance/*`` are for the
``compliance`` role only (platform staff is another role: 403); controllers (users and
admins) answer breach notices and sub-processor changes through their own routes. The
compliance service checks the role again."""
from typing import Any

from gateway.http import Req, api
from gateway.schemas.common import page_of
from gateway.schemas.compliance import AuditEntryOut, AuditQuery, AuditVerifyOut

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
