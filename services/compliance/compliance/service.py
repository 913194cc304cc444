"""Compliance service: the platform's duties as GDPR processor (terms, processing annex).

Entry points are thin: each builds a ``Ctx`` and calls one use case in
``compliance.usecases``; the rules are in ``compliance.domain``. Staff routes are for the
``compliance`` role only (checked here too, not only at the gateway).
"""
from typing import Any

import suivi_common  # noqa: F401  (first: green psycopg)
from compliance.models import common
from compliance.usecases import audit
from compliance.usecases.context import Ctx
from suivi_common.consumer import reliable_handler
from suivi_common.database import Database
from suivi_common.service_base import PlatformService, rpc_api


class ComplianceService(PlatformService):
    name = "compliance"
    db = Database(common)

    @property
    def ctx(self) -> Ctx:
        return Ctx.from_db(self.db, self.principal)

    def _audit(self, source: str, event_type: str, payload: dict[str, Any]) -> None:
        audit.record_event(self.ctx, source, event_type, payload, self.db.message_id)

    # --- the audit trail ---------------------------------------------------------------
    @rpc_api
    def audit_log(self, cursor: str | None = None, limit: int = 50,
                  kind: str | None = None) -> dict[str, Any]:
        return audit.list_entries(self.ctx, cursor, limit, kind)

    @rpc_api
    def audit_verify(self) -> dict[str, Any]:
        return audit.verify(self.ctx)

    # --- audited facts of the other services -------------------------------------------
    @reliable_handler("leads", "refund_claim_decided")
    def on_refund_claim_decided(self, payload: dict[str, Any]) -> None:
        self._audit("leads", "refund_claim_decided", payload)

    @reliable_handler("leads", "lead_erased")
    def on_lead_erased(self, payload: dict[str, Any]) -> None:
        self._audit("leads", "lead_erased", payload)

    @reliable_handler("leads", "leads_exported")
    def on_leads_exported(self, payload: dict[str, Any]) -> None:
        self._audit("leads", "leads_exported", payload)

    @reliable_handler("plans", "absence_approved")
    def on_absence_approved(self, payload: dict[str, Any]) -> None:
        self._audit("plans", "absence_approved", payload)

    @reliable_handler("plans", "absence_rejected")
    def on_absence_rejected(self, payload: dict[str, Any]) -> None:
        self._audit("plans", "absence_rejected", payload)

    @reliable_handler("plans", "sales_closure_declared")
    def on_sales_closure_declared(self, payload: dict[str, Any]) -> None:
        self._audit("plans", "sales_closure_declared", payload)

    @reliable_handler("accounts", "payment_validated")
    def on_payment_validated(self, payload: dict[str, Any]) -> None:
        self._audit("accounts", "payment_validated", payload)

    @reliable_handler("accounts", "payment_failed")
    def on_payment_failed(self, payload: dict[str, Any]) -> None:
        self._audit("accounts", "payment_failed", payload)

    @reliable_handler("accounts", "payment_cancelled")
    def on_payment_cancelled(self, payload: dict[str, Any]) -> None:
        self._audit("accounts", "payment_cancelled", payload)

    @reliable_handler("accounts", "member_office_opened")
    def on_member_office_opened(self, payload: dict[str, Any]) -> None:
        self._audit("accounts", "member_office_opened", payload)
