"""Mailer service: the platform's system emails, and every email to a lead (templates,
office sends, automations on status change, the lead's email history, oppositions).

Entry points are thin: emails to leads go through one use case each (``mailer.usecases``);
the module docstrings there say how "once, never lost" holds for them. The system emails:

Each accounts event becomes one email, sent inside the handler. The common library's
inbox makes a redelivered event a no-op; an SMTP failure raises, so the event is retried
with backoff and finally dead-lettered. ``sent_emails`` records what went out without
anything personal (no address, no link). Logs name the kind and the user id only.

Once, not twice, even when the database fails around the send: the ledger row is written
as ``sending`` and committed (a transaction of its own) before the email goes on the wire,
and marked ``sent`` the same way once the SMTP server took it. The handler's own
transaction (its inbox claim) is open during the SMTP conversation, so a database cut then
fails the attempt, and the retry finds ``sent`` and sends nothing. A retry that finds
``sending`` cannot know whether the server took the email (the process died in between):
it sends again, under the same ``Message-ID``, rather than risk losing it.

Invitation and reset events carry a reference to their set-password link: the link is
asked of accounts (``password_link``, as the mailer) when the mail is sent, so no
one-time token ever sits in an event, a queue or a dead letter. A link that was used,
replaced or has expired since is not mailed; accounts being down makes the send retry.
"""
import logging
import uuid
from typing import Any

import eventlet
from sqlalchemy import delete, insert, select, update

import suivi_common  # noqa: F401  (first: green psycopg)
from mailer.adapters.smtp import Smtp
from mailer.dependencies import EventMessageId
from mailer.domain import messages
from mailer.models import common, sent_emails
from mailer.usecases import automations, lead_emails, opposition, sending, templates
from mailer.usecases.context import Ctx
from suivi_common import clock
from suivi_common.consumer import reliable_handler
from suivi_common.container import database_lost
from suivi_common.database import Database
from suivi_common.errors import Conflict
from suivi_common.rpc import ServiceRpc
from suivi_common.service_base import PlatformService, rpc_api, rpc_internal
from suivi_common.settings import setting
from suivi_common.timers import config_timer

log = logging.getLogger(__name__)

DEFAULT_MAIL_FROM = "Suivi <no-reply@suivi.test>"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
SENDING, SENT = "sending", "sent"
MARK_ATTEMPTS = 5


class MailerService(PlatformService):
    name = "mailer"
    db = Database(common)
    smtp = Smtp()
    event_message_id = EventMessageId()
    accounts = ServiceRpc("accounts")
    leads = ServiceRpc("leads")

    @property
    def ctx(self) -> Ctx:
        return Ctx(self.db, self.principal, leads=self.leads, accounts=self.accounts)

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
        return lead_emails.queue_office_email(self.ctx, lead_id, template_id, subject, body)

    @rpc_api
    def list_lead_emails(self, lead_id: str, cursor: str | None = None,
                         limit: int = 50) -> dict[str, Any]:
        return lead_emails.list_lead_emails(self.ctx, lead_id, cursor, limit)

    @rpc_api
    def lead_email_opposition(self, lead_id: str) -> dict[str, Any]:
        return lead_emails.lead_opposition(self.ctx, lead_id)

    @rpc_internal(services=("compliance", "leads"))
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

    @reliable_handler("mailer", "lead_email_due")
    def on_lead_email_due(self, payload: dict[str, Any]) -> None:
        sending.deliver(self.ctx, payload.get("email_id"), self.smtp, self)

    @config_timer("LEAD_MAIL_TIMER_SECONDS", 15)
    def release_due_emails(self) -> None:
        sending.release_due(self.ctx)

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
        return automations.set_pause(self.ctx, paused)

    @reliable_handler("leads", "lead_status_changed")
    def on_lead_status_changed(self, payload: dict[str, Any]) -> None:
        automations.on_status_changed(self.ctx, payload, str(self.event_message_id))

    # --- system emails ---------------------------------------------------------------------
    @reliable_handler("accounts", "user_invited")
    def on_user_invited(self, payload: dict[str, Any]) -> None:
        self._mail("user_invited", payload)

    @reliable_handler("accounts", "password_reset_requested")
    def on_password_reset_requested(self, payload: dict[str, Any]) -> None:
        self._mail("password_reset_requested", payload)

    @reliable_handler("accounts", "terms_notice")
    def on_terms_notice(self, payload: dict[str, Any]) -> None:
        self._mail("terms_notice", payload)

    def _mail(self, event_type: str, payload: dict[str, Any]) -> None:
        login_url = str(setting("PUBLIC_URL", DEFAULT_PUBLIC_URL)).rstrip("/") + "/"
        event_id = self.event_message_id
        if event_id is None:
            raise RuntimeError("mail handlers must run as reliable event handlers")
        kind, user_id = messages.KIND_OF_EVENT.get(event_type), payload.get("user_id")
        if self.db.session.execute(select(sent_emails.c.state).where(
                sent_emails.c.message_id == event_id)).scalar() == SENT:
            log.info("%s email for user %s already sent", kind, user_id)  # no link to fetch
            return
        link_ref = messages.link_ref_of(event_type, payload)
        if link_ref is not None:
            try:
                link = self.accounts.password_link(link_ref)
            except Conflict as exc:
                log.warning("%s email for user %s not sent: %s", kind, user_id, exc.code)
                return
            payload = messages.with_link(payload, link)
        request = messages.request_for(event_type, payload, login_url)
        now = clock.now()
        if request.expired(now):
            log.warning("%s email for user %s not sent: its link expired at %s",
                        request.kind, request.user_id, request.expires_at.isoformat())
            return
        sender = str(setting("MAIL_FROM", DEFAULT_MAIL_FROM))
        smtp_id = messages.smtp_message_id(event_id, request.kind, sender)
        with self.db.autonomous() as tx:
            state = tx.execute(select(sent_emails.c.state).where(
                sent_emails.c.message_id == event_id)).scalar()
            if state is None:
                tx.execute(insert(sent_emails).values(
                    id=uuid.uuid4(), kind=request.kind, user_id=request.user_id,
                    message_id=event_id, smtp_message_id=smtp_id, sent_at=now,
                    state=SENDING))
        if state == SENT:
            log.info("%s email for user %s already sent", request.kind, request.user_id)
            return
        if state == SENDING:
            log.warning("%s email for user %s: an earlier attempt was cut off mid-send; "
                        "sending again (%s)", request.kind, request.user_id, smtp_id)
        try:
            self.smtp.send(messages.build_message(request, sender, smtp_id, now))
        except Exception:
            with self.db.autonomous() as tx:  # not sent: the retry must send it
                tx.execute(delete(sent_emails).where(sent_emails.c.message_id == event_id,
                                                     sent_emails.c.state == SENDING))
            raise
        self._mark_sent(event_id)
        log.info("%s email sent to user %s (%s)", request.kind, request.user_id, smtp_id)

    def _mark_sent(self, event_id: str) -> None:
        """Record that the server took the email. The database may just have cut the pool's
        connections: a lost connection is retried on a fresh one, since failing here would
        make the retry send the email again."""
        for attempt in range(MARK_ATTEMPTS):
            try:
                with self.db.autonomous() as tx:
                    tx.execute(update(sent_emails).where(sent_emails.c.message_id == event_id)
                               .values(state=SENT, sent_at=clock.now()))
                return
            except Exception as exc:
                if attempt + 1 == MARK_ATTEMPTS or not database_lost(exc):
                    raise
                eventlet.sleep(0.1 * 2 ** attempt)
