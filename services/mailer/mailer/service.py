"""Mailer service: the platform's system emails, and every email to a lead (templates,
office sends, automations on status change, the lead's email history, oppositions), and
its part of compliance's contract (notices to controllers, data-subject tasks, data map).

Entry points are thin: each calls one use case (``mailer.usecases``), whose module says how
"once, never lost" holds for it: ``system_emails`` (one event, one email, a ledger without
anything personal), ``sending`` (the queue of emails to leads), ``automations``,
``lead_emails``, ``breach_subjects`` (one art. 34 email per breach and person),
``opposition``, ``templates``, ``compliance_notices`` (one email per
notice and controller), ``subject_requests`` (one task per request), ``stale_leads`` (the
monthly stale-lead reminder, one email per owner and month), ``end_of_contract`` and
``controller_keys`` (the e-mail copies under each owner's key, shredded at the end of
their contract).
"""
import logging
from typing import Any

import suivi_common  # noqa: F401  (green psycopg: before anything imports psycopg)
from mailer.adapters.batching import Batcher
from mailer.adapters.side_pool import SidePool
from mailer.adapters.smtp import Smtp
from mailer.domain import datamap
from mailer.google.entrypoints import GoogleEntrypoints
from mailer.models import common
from mailer.usecases import (
    automations,
    breach_subjects,
    compliance_notices,
    controller_keys,
    end_of_contract,
    lead_emails,
    opposition,
    sending,
    stale_leads,
    stats,
    subject_requests,
    system_emails,
    templates,
)
from mailer.usecases.context import Ctx
from suivi_common.consumer import reliable_handler
from suivi_common.database import Database
from suivi_common.permissions import SEND_EMAIL, USE_AUTOMATIONS, require_permission
from suivi_common.rpc import ServiceRpc
from suivi_common.service_base import StatCounting, rpc_api, rpc_internal
from suivi_common.settings import setting
from suivi_common.timers import config_timer

log = logging.getLogger(__name__)


class MailerService(GoogleEntrypoints, StatCounting):
    name = "mailer"
    db = Database(common)
    smtp = Smtp()
    side_pool = SidePool()
    #: notices to controllers handled at the same moment go out as one batch
    notice_batcher = Batcher()
    accounts = ServiceRpc("accounts")
    leads = ServiceRpc("leads")
    compliance = ServiceRpc("compliance")

    @property
    def ctx(self) -> Ctx:
        return Ctx.from_db(self.db, self.principal, leads=self.leads, accounts=self.accounts,
                           compliance=self.compliance, side_engine=self.side_pool)

    # --- statistics (admin tool 3) ----------------------------------------------------------
    count_stats = staticmethod(stats.stat_counts)  # StatCounting.stat_counts

    # --- templates (admin tool 2) ------------------------------------------------------------
    @rpc_api
    def list_templates(self, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        return templates.list_templates(self.ctx, cursor, limit)

    @rpc_api
    def get_template(self, template_id: str) -> dict[str, Any]:
        return templates.get_template(self.ctx, template_id)

    @rpc_api
    def create_template(self, data: dict[str, Any]) -> dict[str, Any]:
        return templates.create_template(self.ctx, data)

    @rpc_api
    def update_template(self, template_id: str, data: dict[str, Any]) -> dict[str, Any]:
        return templates.update_template(self.ctx, template_id, data)

    @rpc_api
    def delete_template(self, template_id: str) -> dict[str, Any]:
        return templates.delete_template(self.ctx, template_id)

    @rpc_api
    def preview_template(self, template_id: str, lead_id: str | None = None) -> dict[str, Any]:
        return templates.preview(self.ctx, template_id, lead_id)

    @reliable_handler("accounts", "network_created")
    def on_network_created(self, payload: dict[str, Any]) -> None:
        templates.on_network_created(self.ctx, payload)

    # --- emails to a lead, its history, its objection --------------------------------------
    @rpc_api
    def send_lead_email(self, lead_id: str, template_id: str | None = None,
                        subject: str | None = None, body: str | None = None) -> dict[str, Any]:
        require_permission(self.principal, SEND_EMAIL)
        return lead_emails.queue_office_email(self.ctx, lead_id, template_id, subject, body)

    @rpc_api
    def list_lead_emails(self, lead_id: str, cursor: str | None = None,
                         limit: int = 50) -> dict[str, Any]:
        return lead_emails.list_lead_emails(self.ctx, lead_id, cursor, limit)

    @rpc_api
    def lead_email_opposition(self, lead_id: str) -> dict[str, Any]:
        return lead_emails.lead_opposition(self.ctx, lead_id)

    @rpc_internal
    def lead_email_history(self, lead_id: str) -> list[dict[str, Any]]:
        """Every email sent to a lead, for a data-subject access request."""
        return lead_emails.subject_history(self.ctx, lead_id)

    @rpc_api
    def check_unsubscribe_link(self, token: str) -> dict[str, Any]:
        return opposition.check_link(self.ctx, token)

    @rpc_api
    def unsubscribe(self, token: str) -> dict[str, Any]:
        """Anyone holding the link (the lead) records the objection: the token is the proof."""
        return opposition.record(self.ctx, token)

    @reliable_handler("leads", "lead_erased")
    def on_lead_erased(self, payload: dict[str, Any]) -> None:
        lead_emails.on_lead_erased(self.ctx, payload)

    @reliable_handler("leads", "office_leads_erased")
    def on_office_leads_erased(self, payload: dict[str, Any]) -> None:
        """The owner deleted them, or retention: their history goes, the owner is not mailed."""
        lead_emails.on_office_leads_erased(self.ctx, payload)

    @reliable_handler("leads", "breach_subject_mail_requested")
    def on_breach_subject_mail_requested(self, payload: dict[str, Any]) -> None:
        breach_subjects.on_mail_requested(self.ctx, payload)

    @reliable_handler("mailer", "lead_email_due")
    def on_lead_email_due(self, payload: dict[str, Any]) -> None:
        sending.deliver(self.ctx, payload.get("email_id"), self.smtp, self)

    @config_timer("LEAD_MAIL_TIMER_SECONDS", 15)
    def release_due_emails(self) -> None:
        sending.release_due(self.ctx)

    @config_timer("LEAD_MAIL_DISPATCH_SECONDS", 0.5)
    def dispatch_due_emails(self) -> None:
        """Due emails to leads, in batches (automations, deferred and retried ones)."""
        sending.dispatch(self.ctx, self.smtp, self)

    # --- automations (admin tool 4) --------------------------------------------------------
    @rpc_api
    def list_automations(self, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        return automations.list_automations(self.ctx, cursor, limit)

    @rpc_api
    def create_automation(self, data: dict[str, Any]) -> dict[str, Any]:
        return automations.create_automation(self.ctx, data)

    @rpc_api
    def update_automation(self, automation_id: str, data: dict[str, Any]) -> dict[str, Any]:
        return automations.update_automation(self.ctx, automation_id, data)

    @rpc_api
    def delete_automation(self, automation_id: str) -> dict[str, Any]:
        return automations.delete_automation(self.ctx, automation_id)

    @rpc_api
    def get_automation_pause(self) -> dict[str, Any]:
        return automations.get_pause(self.ctx)

    @rpc_api
    def set_automation_pause(self, paused: bool) -> dict[str, Any]:
        require_permission(self.principal, USE_AUTOMATIONS)
        return automations.set_pause(self.ctx, paused)

    @reliable_handler("leads", "lead_status_changed")
    def on_lead_status_changed(self, payload: dict[str, Any]) -> None:
        automations.on_status_changed(self.ctx, payload)

    # --- system emails (one SMTP adapter, retries, French with an English line) -------------
    @reliable_handler("accounts", "user_invited")
    def on_user_invited(self, payload: dict[str, Any]) -> None:
        self._mail("user_invited", payload)

    @reliable_handler("accounts", "password_reset_requested")
    def on_password_reset_requested(self, payload: dict[str, Any]) -> None:
        self._mail("password_reset_requested", payload)

    @reliable_handler("accounts", "email_change_requested")
    def on_email_change_requested(self, payload: dict[str, Any]) -> None:
        self._mail("email_change_requested", payload)

    @reliable_handler("accounts", "email_changed")
    def on_email_changed(self, payload: dict[str, Any]) -> None:
        self._mail("email_changed", payload)

    @reliable_handler("accounts", "password_changed")
    def on_password_changed(self, payload: dict[str, Any]) -> None:
        """To the user: the password changed (no secret in it; address asked of accounts)."""
        self._mail("password_changed", payload)

    @reliable_handler("accounts", "second_factor_reset")
    def on_second_factor_reset(self, payload: dict[str, Any]) -> None:
        """To the user: staff removed their lost second factor."""
        self._mail("second_factor_reset", payload)

    @reliable_handler("accounts", "terms_notice")
    def on_terms_notice(self, payload: dict[str, Any]) -> None:
        self._mail("terms_notice", payload)

    @reliable_handler("leads", "lead_erased")
    def on_lead_erased_notice(self, payload: dict[str, Any]) -> None:
        """To the owner: erased on the person's request, with no refund (terms 3.B.iv)."""
        self._mail("lead_erased", payload)

    @reliable_handler("leads", "refund_claim_decided")
    def on_refund_claim_decided(self, payload: dict[str, Any]) -> None:
        self._mail("refund_claim_decided", payload)

    @reliable_handler("plans", "absence_approved")
    def on_absence_approved(self, payload: dict[str, Any]) -> None:
        self._mail("absence_approved", payload)

    @reliable_handler("plans", "absence_rejected")
    def on_absence_rejected(self, payload: dict[str, Any]) -> None:
        self._mail("absence_rejected", payload)

    @reliable_handler("accounts", "payment_validated")
    def on_payment_validated(self, payload: dict[str, Any]) -> None:
        self._mail("payment_validated", payload)

    @reliable_handler("accounts", "payment_failed")
    def on_payment_failed(self, payload: dict[str, Any]) -> None:
        self._mail("payment_failed", payload)

    @reliable_handler("accounts", "subscription_ending_soon")
    def on_subscription_ending_soon(self, payload: dict[str, Any]) -> None:
        """Not emitted by accounts yet (issue 11 asks for it): ``{subscription_id, user_id,
        network_id, ends_on, plans_running}``, seven days before the end."""
        self._mail("subscription_ending_soon", payload)

    @reliable_handler("plans", "plan_changed")
    def on_plan_changed(self, payload: dict[str, Any]) -> None:
        """Mailed only when a sales closure lengthened the plan (``reason``)."""
        self._mail("plan_changed", payload)

    @reliable_handler("leads", "stale_leads_reminder_due")
    def on_stale_leads_reminder_due(self, payload: dict[str, Any]) -> None:
        stale_leads.on_reminder_due(self.ctx, self.smtp, payload)

    # --- compliance's contract (services/compliance/README.md) --------------------------------
    @reliable_handler("compliance", "breach_notice_requested")
    def on_breach_notice_requested(self, payload: dict[str, Any]) -> None:
        compliance_notices.on_breach_notice_requested(self.ctx, self.smtp, payload,
                                                      self.notice_batcher)

    @reliable_handler("compliance", "subprocessor_change_announced")
    def on_subprocessor_change_announced(self, payload: dict[str, Any]) -> None:
        compliance_notices.on_subprocessor_change_announced(self.ctx, payload)

    @reliable_handler("mailer", "subprocessor_notice_due")
    def on_subprocessor_notice_due(self, payload: dict[str, Any]) -> None:
        compliance_notices.on_subprocessor_notice_due(self.ctx, self.smtp, payload,
                                                      self.notice_batcher)

    @reliable_handler("compliance", "dsr_task_requested")
    def on_dsr_task_requested(self, payload: dict[str, Any]) -> None:
        subject_requests.on_task_requested(self.ctx, payload)

    # --- the end of contract (annex IV.12) ------------------------------------------------
    @reliable_handler("compliance", "controller_data_requested")
    def on_controller_data_requested(self, payload: dict[str, Any]) -> None:
        end_of_contract.on_data_requested(self.ctx, payload)

    @reliable_handler("compliance", "controller_shred_requested")
    def on_controller_shred_requested(self, payload: dict[str, Any]) -> None:
        end_of_contract.on_shred_requested(self.ctx, payload)

    @rpc_internal
    def rekey_controllers(self, limit: int | None = None) -> dict[str, Any]:
        """One batch of e-mail copies moved to their owner's key (the timer; operators)."""
        size = limit or int(setting("CONTROLLER_REKEY_BATCH", controller_keys.BATCH))
        return {"moved": controller_keys.rekey_batch(self.ctx, size)}

    @config_timer("CONTROLLER_REKEY_INTERVAL_SECONDS", 30)
    def rekey_controllers_tick(self) -> None:
        self.rekey_controllers()

    @rpc_internal
    def data_map(self) -> dict[str, Any]:
        """What the mailer processes, for compliance's register (annex IV.14). Any service
        may read it (nothing in it is secret); users and anonymous callers may not."""
        return datamap.data_map()

    def _mail(self, event_type: str, payload: dict[str, Any]) -> None:
        system_emails.mail(self.ctx, self.smtp, event_type, payload)
