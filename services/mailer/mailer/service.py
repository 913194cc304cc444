"""Mailer service: the platform's system emails (invitation, password reset, new terms).

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
from mailer.google.entrypoints import GoogleEntrypoints
from mailer.models import common, sent_emails
from suivi_common import clock
from suivi_common.consumer import reliable_handler
from suivi_common.container import database_lost
from suivi_common.database import Database
from suivi_common.errors import Conflict
from suivi_common.rpc import ServiceRpc
from suivi_common.service_base import PlatformService
from suivi_common.settings import setting

log = logging.getLogger(__name__)

DEFAULT_MAIL_FROM = "Suivi <no-reply@suivi.test>"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
SENDING, SENT = "sending", "sent"
MARK_ATTEMPTS = 5


class MailerService(GoogleEntrypoints, PlatformService):
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
