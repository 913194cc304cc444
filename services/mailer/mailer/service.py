"""Mailer service: the platform's system emails (invitation, password reset, new terms).

Each accounts event becomes one email, sent inside the handler. The common library's
inbox makes a redelivered event a no-op; an SMTP failure raises, so the event is retried
with backoff and finally dead-lettered. ``sent_emails`` records what went out without
anything personal (no address, no link). Logs name the kind and the user id only.

Invitation and reset events carry a reference to their set-password link: the link is
asked of accounts (``password_link``, as the mailer) when the mail is sent, so no
one-time token ever sits in an event, a queue or a dead letter. A link that was used,
replaced or has expired since is not mailed; accounts being down makes the send retry.
"""
import logging
import uuid
from typing import Any

from sqlalchemy import insert, select

import suivi_common  # noqa: F401  (first: green psycopg)
from mailer.adapters.smtp import Smtp
from mailer.dependencies import EventMessageId
from mailer.domain import messages
from mailer.models import common, sent_emails
from suivi_common import clock
from suivi_common.consumer import reliable_handler
from suivi_common.database import Database
from suivi_common.errors import Conflict
from suivi_common.rpc import ServiceRpc
from suivi_common.service_base import PlatformService
from suivi_common.settings import setting

log = logging.getLogger(__name__)

DEFAULT_MAIL_FROM = "Suivi <no-reply@suivi.test>"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


class MailerService(PlatformService):
    name = "mailer"
    db = Database(common)
    smtp = Smtp()
    event_message_id = EventMessageId()
    accounts = ServiceRpc("accounts")

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
        session = self.db.session
        if session.execute(select(sent_emails.c.id).where(
                sent_emails.c.message_id == event_id)).first() is not None:
            log.info("%s email for user %s already sent", kind, user_id)
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
        session.execute(insert(sent_emails).values(
            id=uuid.uuid4(), kind=request.kind, user_id=request.user_id, message_id=event_id,
            smtp_message_id=smtp_id, sent_at=now))
        self.smtp.send(messages.build_message(request, sender, smtp_id, now))
        log.info("%s email sent to user %s (%s)", request.kind, request.user_id, smtp_id)
