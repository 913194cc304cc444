"""Compliance service: the platform's duties as GDPR processor (terms, processing annex).

Entry points are thin: each builds a ``Ctx`` and calls one use case in
``compliance.usecases``; the rules are in ``compliance.domain``. Staff routes are for the
``compliance`` role only (checked here too, not only at the gateway).
"""
from typing import Any

import suivi_common  # noqa: F401  (green psycopg: before anything imports psycopg)
from compliance.domain.requests import HOLDERS
from compliance.models import common
from compliance.remote import Services
from compliance.settings import TUNABLES
from compliance.settings import load as load_settings
from compliance.usecases import (
    audit,
    breaches,
    end_of_contract,
    exports,
    register,
    requests,
    subprocessors,
)
from compliance.usecases.context import Ctx
from suivi_common.auth import require_service
from suivi_common.consumer import forwarding_handler, reliable_handler
from suivi_common.database import Database
from suivi_common.rpc import ServiceRpc
from suivi_common.service_base import PlatformService, rpc_api, rpc_internal


class ComplianceService(PlatformService):
    name = "compliance"
    db = Database(common)
    # compliance asks as itself (its signed service principal)
    accounts_rpc = ServiceRpc("accounts")
    plans_rpc = ServiceRpc("plans")
    leads_rpc = ServiceRpc("leads")
    mailer_rpc = ServiceRpc("mailer")

    @property
    def ctx(self) -> Ctx:
        settings = load_settings()
        services = Services({"accounts": self.accounts_rpc, "plans": self.plans_rpc,
                             "leads": self.leads_rpc, "mailer": self.mailer_rpc},
                            settings.rpc_timeout_seconds)
        return Ctx(session=self.db.session, vault=self.db.vault, emit=self.db.emit,
                   principal=self.principal, services=services, _settings=settings)

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
    on_refund_claim_decided = forwarding_handler("leads", "refund_claim_decided", _audit)
    on_lead_erased = forwarding_handler("leads", "lead_erased", _audit)
    on_leads_exported = forwarding_handler("leads", "leads_exported", _audit)
    on_absence_approved = forwarding_handler("plans", "absence_approved", _audit)
    on_absence_rejected = forwarding_handler("plans", "absence_rejected", _audit)
    on_sales_closure_declared = forwarding_handler("plans", "sales_closure_declared", _audit)
    on_payment_validated = forwarding_handler("accounts", "payment_validated", _audit)
    on_payment_failed = forwarding_handler("accounts", "payment_failed", _audit)
    on_payment_cancelled = forwarding_handler("accounts", "payment_cancelled", _audit)
    on_member_office_opened = forwarding_handler("accounts", "member_office_opened", _audit)
    on_password_changed = forwarding_handler("accounts", "password_changed", _audit)
    on_email_changed = forwarding_handler("accounts", "email_changed", _audit)
    on_second_factor_enrolled = forwarding_handler("accounts", "second_factor_enrolled", _audit)
    on_recovery_code_used = forwarding_handler("accounts", "recovery_code_used", _audit)
    on_second_factor_reset = forwarding_handler("accounts", "second_factor_reset", _audit)
    on_invitation_masked = forwarding_handler("accounts", "invitation_masked", _audit)
    on_second_factor_removed = forwarding_handler("accounts", "second_factor_removed", _audit)
    on_recovery_codes_regenerated = forwarding_handler("accounts", "recovery_codes_regenerated",
                                                       _audit)

    # --- data-subject requests (annex IV.8) ----------------------------------------------
    @rpc_api
    def register_request(self, kind: str, email: str | None = None, phone: str | None = None,
                         received_at: str | None = None, note: str | None = None,
                         changes: dict[str, str] | None = None) -> dict[str, Any]:
        return requests.register(self.ctx, kind, email, phone, received_at, note, changes)

    @rpc_api
    def list_requests(self, status: str | None = None, cursor: str | None = None,
                      limit: int = 50) -> dict[str, Any]:
        return requests.list_requests(self.ctx, status, cursor, limit)

    @rpc_api
    def get_request(self, request_id: str) -> dict[str, Any]:
        return requests.get_request(self.ctx, request_id)

    @rpc_api
    def process_request(self, request_id: str) -> dict[str, Any]:
        return requests.process(self.ctx, request_id)

    @rpc_api
    def deny_request(self, request_id: str, reason: str) -> dict[str, Any]:
        return requests.deny(self.ctx, request_id, reason)

    @rpc_api
    def extend_request(self, request_id: str, months: int, reason: str) -> dict[str, Any]:
        return requests.extend(self.ctx, request_id, months, reason)

    @rpc_api
    def request_receipt(self, request_id: str) -> dict[str, Any]:
        return requests.receipt(self.ctx, request_id)

    @rpc_api
    def request_export(self, request_id: str) -> dict[str, Any]:
        """The access or portability archive (ZIP, base64) while it is available."""
        return exports.download(self.ctx, request_id)

    @TUNABLES.timer("DSR_EXPORT_SWEEP_SECONDS")
    def destroy_expired_exports_timer(self) -> None:
        exports.destroy_expired(self.ctx)

    @rpc_internal(services=HOLDERS)
    def dsr_subject(self, request_id: str) -> dict[str, Any]:
        """The identifiers of an open task's person, for the service holding the task."""
        me = require_service(self.principal, HOLDERS)
        return requests.subject_for(self.ctx, request_id, me.user_id)

    @TUNABLES.timer("DSR_RETRY_INTERVAL_SECONDS")
    def retry_late_timer(self) -> None:
        requests.retry_late(self.ctx)

    @reliable_handler("accounts", "dsr_task_reported")
    def on_accounts_report(self, payload: dict[str, Any]) -> None:
        requests.on_task_reported(self.ctx, "accounts", payload)

    @reliable_handler("plans", "dsr_task_reported")
    def on_plans_report(self, payload: dict[str, Any]) -> None:
        requests.on_task_reported(self.ctx, "plans", payload)

    @reliable_handler("leads", "dsr_task_reported")
    def on_leads_report(self, payload: dict[str, Any]) -> None:
        requests.on_task_reported(self.ctx, "leads", payload)

    @reliable_handler("mailer", "dsr_task_reported")
    def on_mailer_report(self, payload: dict[str, Any]) -> None:
        requests.on_task_reported(self.ctx, "mailer", payload)

    # --- breaches (annex IV.9) -------------------------------------------------------------
    @rpc_api
    def declare_breach(self, nature: str, detected_at: str, data_categories: list[str],
                       services: list[str], scope: dict[str, Any], likely_consequences: str,
                       measures_taken: str) -> dict[str, Any]:
        return breaches.declare(self.ctx, nature, detected_at, data_categories, services,
                                scope, likely_consequences, measures_taken)

    @rpc_api
    def list_breaches(self, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        return breaches.list_breaches(self.ctx, cursor, limit)

    @rpc_api
    def get_breach(self, breach_id: str) -> dict[str, Any]:
        return breaches.get_breach(self.ctx, breach_id)

    @rpc_api
    def breach_controllers(self, breach_id: str, cursor: str | None = None,
                           limit: int = 50) -> dict[str, Any]:
        return breaches.list_controllers(self.ctx, breach_id, cursor, limit)

    @rpc_api
    def breach_update(self, breach_id: str, text: str, measures_taken: str | None = None,
                      likely_consequences: str | None = None) -> dict[str, Any]:
        return breaches.post_update(self.ctx, breach_id, text, measures_taken,
                                    likely_consequences)

    @rpc_api
    def breach_recount(self, breach_id: str) -> dict[str, Any]:
        return breaches.recount(self.ctx, breach_id)

    @rpc_api
    def breach_authority_records(self, breach_id: str) -> dict[str, Any]:
        return breaches.authority_records(self.ctx, breach_id)

    @rpc_api
    def my_breach(self, breach_id: str) -> dict[str, Any]:
        return breaches.my_breach(self.ctx, breach_id)

    @rpc_api
    def approve_breach(self, breach_id: str, notify_authority: bool,
                       notify_subjects: bool) -> dict[str, Any]:
        return breaches.approve(self.ctx, breach_id, notify_authority, notify_subjects)

    @rpc_api
    def my_authority_record(self, breach_id: str) -> dict[str, Any]:
        return breaches.authority_record(self.ctx, breach_id)

    @rpc_api
    def my_authority_record_document(self, breach_id: str) -> dict[str, Any]:
        return breaches.authority_record_document(self.ctx, breach_id)

    @reliable_handler("mailer", "breach_notice_sent")
    def on_breach_notice_sent(self, payload: dict[str, Any]) -> None:
        breaches.on_notice_delivered(self.ctx, payload)

    # --- sub-processors (annex IV.6) -------------------------------------------------------
    @rpc_api
    def subprocessor_registry(self) -> dict[str, Any]:
        return subprocessors.registry(self.ctx)

    @rpc_api
    def announce_subprocessor_change(self, change: dict[str, Any]) -> dict[str, Any]:
        return subprocessors.announce(self.ctx, change)

    @rpc_api
    def subprocessor_changes(self) -> dict[str, Any]:
        return subprocessors.list_changes(self.ctx)

    @rpc_api
    def object_to_subprocessor_change(self, change_id: str, reason: str) -> dict[str, Any]:
        return subprocessors.object_to(self.ctx, change_id, reason)

    @rpc_api
    def subprocessor_objections(self, change_id: str) -> dict[str, Any]:
        return subprocessors.objections(self.ctx, change_id)

    # --- the register (annex IV.14) --------------------------------------------------------
    @rpc_api
    def processing_register(self) -> dict[str, Any]:
        return register.build(self.ctx)

    @rpc_api
    def processing_register_document(self) -> dict[str, Any]:
        return register.document(self.ctx)

    # --- the end of contract (annex IV.12) -------------------------------------------------
    @rpc_api
    def end_contract(self, user_id: str) -> dict[str, Any]:
        return end_of_contract.start(self.ctx, user_id)

    @rpc_api
    def controller_end_of_contract(self, user_id: str) -> dict[str, Any]:
        return end_of_contract.get(self.ctx, user_id)

    @rpc_api
    def controller_archive(self, user_id: str) -> dict[str, Any]:
        return end_of_contract.download(self.ctx, user_id)

    @rpc_api
    def controller_certificate(self, user_id: str) -> dict[str, Any]:
        return end_of_contract.certificate(self.ctx, user_id)

    @rpc_api
    def my_end_of_contract(self) -> dict[str, Any]:
        return end_of_contract.mine(self.ctx)

    @rpc_api
    def my_end_of_contract_archive(self) -> dict[str, Any]:
        return end_of_contract.my_download(self.ctx)

    @rpc_api
    def confirm_end_of_contract_receipt(self) -> dict[str, Any]:
        return end_of_contract.confirm_receipt(self.ctx)

    @reliable_handler("leads", "controller_data_reported")
    def on_controller_data_reported(self, payload: dict[str, Any]) -> None:
        end_of_contract.on_data_reported(self.ctx, "leads", payload)

    @reliable_handler("leads", "controller_data_shredded")
    def on_controller_data_shredded(self, payload: dict[str, Any]) -> None:
        end_of_contract.on_shredded(self.ctx, "leads", payload)

    @reliable_handler("mailer", "controller_data_reported")
    def on_mailer_controller_data_reported(self, payload: dict[str, Any]) -> None:
        end_of_contract.on_data_reported(self.ctx, "mailer", payload)

    @reliable_handler("mailer", "controller_data_shredded")
    def on_mailer_controller_data_shredded(self, payload: dict[str, Any]) -> None:
        end_of_contract.on_shredded(self.ctx, "mailer", payload)

    @TUNABLES.timer("END_OF_CONTRACT_SWEEP_SECONDS")
    def end_of_contract_timer(self) -> None:
        end_of_contract.sweep(self.ctx)
