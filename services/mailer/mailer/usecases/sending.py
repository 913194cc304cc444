"""Sending an email to a lead: once, never lost, never to someone who objected.

The queue is ``lead_emails`` itself. ``lead_email_due {email_id}`` (a mailer event, through
the outbox) asks for a row to be sent; the mailer's own reliable handler runs ``deliver``:

1. an automation's row is checked and rendered first (``automations.prepare``): the lead
   may have been erased, left the status, its office closed, its owner paused automations;
2. the row is *claimed*: ``queued`` -> ``sending`` in one conditional update that also
   requires no objection on file for the address (not for an art. 34 breach notice,
   ``breach_subjects``), committed before the email goes on the wire. Only one worker, of
   any instance, wins a claim; a redelivered event finds the row ``sending`` or ``sent``
   and does nothing;
3. the email goes through the user's channels (``channels``), then the row is ``sent`` and
   ``lead_email_sent`` is emitted, in one transaction;
4. a refusal puts the row back to ``scheduled`` with a backoff (``domain.retries``), or
   ``failed`` when the server refused for good or the attempts ran out.

A worker killed mid-send leaves its row ``sending`` with a lease (``lease_until``, database
time): the timer (``release_due``) puts rows whose lease ran out back in the queue, and the
send is made again under the same ``Message-ID`` (the server may have taken the first: a
duplicate is then recognisably one mail, whereas giving up could lose it). The same timer
releases ``scheduled`` rows whose ``due_at`` (the platform clock) has come.
"""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

import eventlet
from sqlalchemy import and_, exists, func, not_, select, true, update

from mailer import channels as channel_mod
from mailer.adapters.smtp import MailDeliveryError
from mailer.domain import breach_subjects, lead_mail, retries
from mailer.models import email_oppositions, lead_emails
from mailer.usecases import automations
from mailer.usecases.context import Ctx
from mailer.usecases.lead_emails import (
    AUTOMATION,
    BLOCKED,
    CANCELLED,
    DUE_EVENT,
    FAILED,
    QUEUED,
    SCHEDULED,
    SENDING,
    SENT,
    opened,
    unsubscribe_url,
)
from suivi_common import clock
from suivi_common.container import database_lost
from suivi_common.database import rows_affected
from suivi_common.errors import NotFound

log = logging.getLogger(__name__)

LE = lead_emails
RELEASE_BATCH = 500
OWNER_GONE = "owner_gone"
MARK_ATTEMPTS = 5


def _domain(mail_from: str) -> str:
    address = parseaddr(mail_from)[1]
    return address.rpartition("@")[2] if "@" in address else "suivi.invalid"


def _opposed_clause() -> Any:
    o = email_oppositions
    return exists().where(and_(o.c.owner_id == LE.c.owner_id, o.c.address_bidx == LE.c.to_bidx))


def sendable(row: Any) -> bool:
    """Not a tombstone of a data-subject erasure, nor restricted by the person."""
    return row.erased_at is None and row.restricted_at is None


def deliver(ctx: Ctx, email_id: Any, smtp: Any, service: Any = None) -> str | None:
    """Send one queued email (see the module); returns its final status, or None when there
    was nothing to do (already handled, or another worker has it)."""
    try:
        eid = uuid.UUID(str(email_id))
    except ValueError:
        log.warning("lead_email_due without a valid email id")
        return None
    row = ctx.session.execute(select(LE).where(LE.c.id == eid)).first()
    if row is None or row.status != QUEUED or not sendable(row):
        return None
    if row.subject is None:
        if row.origin != AUTOMATION or not automations.prepare(ctx, row):
            return None
        row = ctx.session.execute(select(LE).where(LE.c.id == eid)).first()
        if row is None or row.status != QUEUED:
            return None
    try:  # before the claim: an RPC failure leaves the row queued, for the event's retry
        user = ctx.accounts.get_user(row.owner_id)
    except NotFound:  # the account is gone: so is whoever would have sent it
        with ctx.autonomous() as tx:
            tx.execute(update(LE).where(LE.c.id == eid, LE.c.status == QUEUED)
                       .values(status=CANCELLED, cancel_reason=OWNER_GONE))
        log.info("email %s to a lead not sent: its owner's account is gone", eid)
        return CANCELLED
    with ctx.autonomous() as tx:
        unopposed = not_(_opposed_clause()) if breach_subjects.opposable(row.origin) else true()
        claimed = tx.execute(
            update(LE).where(LE.c.id == eid, LE.c.status == QUEUED, unopposed)
            .values(status=SENDING, attempts=LE.c.attempts + 1,
                    lease_until=func.now() + timedelta(seconds=ctx.settings.lease_seconds))
            .returning(LE.c.attempts)).first()
        if claimed is None:
            blocked = rows_affected(tx.execute(update(LE).where(LE.c.id == eid,
                                                                LE.c.status == QUEUED)
                                               .values(status=BLOCKED)))
            if blocked:
                log.info("email %s to a lead not sent: the address objected", eid)
                return BLOCKED
            return None
    address, rendered = opened(ctx.vault, row)
    assert address is not None and rendered is not None
    settings = ctx.settings
    message = lead_mail.build(
        rendered, to=address, msg_id=lead_mail.message_id(str(eid), _domain(settings.mail_from)),
        now=clock.now(), unsubscribe_url=unsubscribe_url(ctx, row.owner_id, row.to_bidx),
        locale=row.locale or "fr", automatic=row.origin == AUTOMATION)
    smtp_channel = channel_mod.SmtpLeadChannel(smtp, settings.mail_from, lambda _uid: user)
    try:
        used = channel_mod.send(channel_mod.channels_for(service, row.owner_id, smtp_channel),
                                row.owner_id, message)
    except MailDeliveryError as exc:
        return _failed(ctx, eid, claimed.attempts, exc)
    except Exception:
        with ctx.autonomous() as tx:  # not sent: the event's retry sends it
            tx.execute(update(LE).where(LE.c.id == eid, LE.c.status == SENDING)
                       .values(status=QUEUED, lease_until=None))
        raise
    _mark_sent(ctx, eid, used, message["Message-ID"], rendered.subject)
    log.info("email %s to lead %s sent by %s (%s)", eid, row.lead_id, used, row.origin)
    return SENT


def _failed(ctx: Ctx, eid: uuid.UUID, attempts: int, exc: MailDeliveryError) -> str:
    when = retries.next_attempt(attempts, clock.now(), ctx.settings.retry_delays, exc.permanent)
    error = str(exc)[:200]
    with ctx.autonomous() as tx:
        if when is None:
            tx.execute(update(LE).where(LE.c.id == eid, LE.c.status == SENDING)
                       .values(status=FAILED, lease_until=None, error=error))
        else:
            tx.execute(update(LE).where(LE.c.id == eid, LE.c.status == SENDING)
                       .values(status=SCHEDULED, lease_until=None, due_at=when, error=error))
    log.warning("email %s to a lead not taken (attempt %d): %s; %s", eid, attempts, error,
                "given up" if when is None else f"next attempt at {when.isoformat()}")
    return FAILED if when is None else SCHEDULED


def _mark_sent(ctx: Ctx, eid: uuid.UUID, channel: str, smtp_id: str, subject: str) -> None:
    """Record that the email left, and tell leads (its history and export), in one
    transaction. The database may just have cut the pool's connections: a lost connection
    is retried on a fresh one, since failing here would make the email go out again."""
    for attempt in range(MARK_ATTEMPTS):
        try:
            now = clock.now()
            with ctx.autonomous() as tx:
                done = tx.execute(
                    update(LE).where(LE.c.id == eid, LE.c.status == SENDING)
                    .values(status=SENT, sent_at=now, channel=channel, lease_until=None,
                            smtp_message_id=smtp_id, error=None)
                    .returning(LE.c.lead_id, LE.c.owner_id)).first()
                if done is not None:  # gone: the lead was erased meanwhile
                    ctx.emit_in(tx, "lead_email_sent", {
                        "lead_id": str(done.lead_id), "user_id": done.owner_id,
                        "email_id": str(eid), "subject": subject, "sent_at": now.isoformat(),
                        "channel": channel})
            return
        except Exception as exc:
            if attempt + 1 == MARK_ATTEMPTS or not database_lost(exc):
                raise
            eventlet.sleep(0.1 * 2 ** attempt)


def release_due(ctx: Ctx) -> int:
    """The timer: ``scheduled`` rows whose time has come, and ``sending`` rows whose sender
    died (lease over), go back to ``queued`` with a ``lead_email_due`` each. Several
    instances may run it: ``SKIP LOCKED`` and the conditional updates give each row to one."""
    now = clock.now()
    due = ctx.session.execute(
        select(LE.c.id).where(LE.c.status == SCHEDULED, LE.c.due_at <= now)
        .order_by(LE.c.due_at).limit(RELEASE_BATCH).with_for_update(skip_locked=True)).scalars().all()
    if due:
        ctx.session.execute(update(LE).where(LE.c.id.in_(due)).values(status=QUEUED))
    stale = ctx.session.execute(
        update(LE).where(LE.c.status == SENDING, LE.c.lease_until < func.now(),
                         LE.c.erased_at.is_(None), LE.c.restricted_at.is_(None))
        .values(status=QUEUED, lease_until=None).returning(LE.c.id)).scalars().all()
    for eid in stale:
        log.warning("email %s to a lead was cut off mid-send; sending again", eid)
    for eid in [*due, *stale]:
        ctx.emit(DUE_EVENT, {"email_id": str(eid)})
    return len(due) + len(stale)
