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

An immediate automation takes a shorter road (``send_automation_now``, issue 11 section
7): the worker handling ``lead_status_changed`` checks and renders the email, inserts its
row already claimed (step 2 folded into the insert, the ``(trigger_id, automation_id)``
pair being the once), sends it and records it (steps 3 and 4). No ``lead_email_due``, no
second consume, no second inbox row; the row, its lease and the timer are the same. When
leads or accounts cannot answer that worker, the email is queued the long way instead.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

import eventlet
from nameko.exceptions import RpcTimeout, UnknownService
from sqlalchemy import and_, exists, func, not_, select, text, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mailer import channels as channel_mod
from mailer.adapters.smtp import MailDeliveryError
from mailer.domain import breach_subjects, lead_mail, retries
from mailer.domain.templating import Rendered
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
    render_for,
    sealed,
    unsubscribe_url,
)
from suivi_common import clock
from suivi_common.container import database_lost
from suivi_common.database import rows_affected
from suivi_common.errors import NotFound, ServiceUnavailable

log = logging.getLogger(__name__)

LE = lead_emails
RELEASE_BATCH = 500
OWNER_GONE = automations.rules.OWNER_GONE
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
    user: Mapping[str, Any] | None = None
    if row.subject is None:
        if row.origin != AUTOMATION:
            return None
        user = automations.prepare(ctx, row)  # the owner, asked once for the whole send
        if user is None:
            return None
        row = ctx.session.execute(select(LE).where(LE.c.id == eid)).first()
        if row is None or row.status != QUEUED:
            return None
    if user is None:
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
    try:
        used, smtp_id = _send(ctx, smtp, service, user, eid, row.owner_id, address, rendered,
                              bytes(row.to_bidx), row.locale or "fr",
                              automatic=row.origin == AUTOMATION)
    except MailDeliveryError as exc:
        return _failed(ctx, eid, claimed.attempts, exc)
    except Exception:
        with ctx.autonomous() as tx:  # not sent: the event's retry sends it
            tx.execute(update(LE).where(LE.c.id == eid, LE.c.status == SENDING)
                       .values(status=QUEUED, lease_until=None))
        raise
    _mark_sent(ctx, eid, used, smtp_id, rendered.subject)
    log.info("email %s to lead %s sent by %s (%s)", eid, row.lead_id, used, row.origin)
    return SENT


def _send(ctx: Ctx, smtp: Any, service: Any, user: Mapping[str, Any], eid: uuid.UUID,
          owner_id: str, address: str, rendered: Rendered, bidx: bytes, locale: str, *,
          automatic: bool) -> tuple[str, str]:
    """The claimed email on the wire through the owner's channels; returns the channel and
    the ``Message-ID``. Raises what the channel raised. The caller records it ``sent``
    (``_mark_sent``) outside its error handling: a failure there must never put an email
    that left back in the queue."""
    settings = ctx.settings
    message = lead_mail.build(
        rendered, to=address, msg_id=lead_mail.message_id(str(eid), _domain(settings.mail_from)),
        now=clock.now(), unsubscribe_url=unsubscribe_url(ctx, owner_id, bidx), locale=locale,
        automatic=automatic)
    smtp_channel = channel_mod.SmtpLeadChannel(smtp, settings.mail_from, lambda _uid: user)
    used = channel_mod.send(channel_mod.channels_for(service, owner_id, smtp_channel),
                            owner_id, message)
    return used, str(message["Message-ID"])


#: (each parameter used twice is cast alike: PostgreSQL must deduce one type for it)
#: What ``send_automation_now`` answers when it could not check the email (see there).
DEFERRED = automations.DEFERRED
#: Another service not answering (down, silent, or its own database gone).
UNREACHABLE = (ServiceUnavailable, RpcTimeout, UnknownService)
_OPPOSED = ("EXISTS (SELECT 1 FROM email_oppositions o WHERE o.owner_id = CAST(:owner_id AS "
            "varchar) AND o.address_bidx = CAST(:to_bidx AS bytea))")
#: An immediate automation's row, inserted rendered and claimed (``sending``, one attempt,
#: a lease), or ``blocked_opposition`` when the address objected; nothing when the
#: (change, rule) pair already has its row. Plain SQL: SQLAlchemy cannot cache a
#: PostgreSQL ``ON CONFLICT`` statement and would compile this one for every email.
_CLAIM_NEW = text(f"""
INSERT INTO lead_emails (id, lead_id, owner_id, network_id, origin, template_id,
    automation_id, trigger_id, trigger_changed_at, due_at, created_at, status, attempts,
    lease_until, to_address, to_bidx, subject, body_text, body_html, locale)
VALUES (:id, :lead_id, CAST(:owner_id AS varchar), :network_id, :origin, :template_id, :automation_id,
    :trigger_id, :trigger_changed_at, :due_at, :created_at,
    CASE WHEN {_OPPOSED} THEN '{BLOCKED}' ELSE '{SENDING}' END,
    CASE WHEN {_OPPOSED} THEN 0 ELSE 1 END,
    CASE WHEN {_OPPOSED} THEN NULL
         ELSE now() + make_interval(secs => :lease_seconds) END,
    :to_address, CAST(:to_bidx AS bytea), :subject, :body_text, :body_html, :locale)
ON CONFLICT (trigger_id, automation_id) WHERE trigger_id IS NOT NULL DO NOTHING
RETURNING status""")


def on_status_changed(ctx: Ctx, payload: Mapping[str, Any], smtp: Any,
                      service: Any = None) -> int:
    """leads' ``lead_status_changed`` (``automations.on_status_changed``), each immediate
    rule's email sent at once by this worker through ``smtp``."""
    return automations.on_status_changed(
        ctx, payload, lambda c, rule, trigger: send_automation_now(c, rule, trigger, smtp,
                                                                   service))


def send_automation_now(ctx: Ctx, rule: Any, trigger: automations.Trigger, smtp: Any,
                        service: Any = None) -> str | None:
    """An immediate rule's email, sent by the worker handling the status change: its
    conditions are checked (``automations.ready``; the owner's pause was just read), it is
    rendered, then its row is inserted already ``sending`` (``blocked_opposition`` when the
    address objected) with a lease, in a transaction of its own committed before the send.
    The row's unique ``(trigger_id, automation_id)`` is the claim: a redelivered event, or
    another instance, inserts nothing and sends nothing. A worker killed mid-send leaves the
    leased row, which the timer sends again under the same ``Message-ID``; a refusal is
    retried as any send. Returns the row's status, None if the email was already made, or
    ``DEFERRED`` when leads or accounts could not answer: nothing was written, and the
    caller queues the email the long way (``lead_email_due``), whose retries do not hold
    back the status change's other rules."""
    now, eid = clock.now(), uuid.uuid4()
    try:
        got = automations.ready(ctx, rule, trigger.lead_id, trigger.owner_id, paused=False)
    except UNREACHABLE as exc:  # leads or accounts cannot answer now: the queue will retry
        log.warning("automation email for lead %s queued: %s", trigger.lead_id,
                    type(exc).__name__)
        return DEFERRED
    if isinstance(got, str):
        done = ctx.session.execute(pg_insert(LE).values(
            **trigger.row(rule, eid, now), status=CANCELLED, cancel_reason=got)
            .on_conflict_do_nothing(index_elements=["trigger_id", "automation_id"],
                                    index_where=LE.c.trigger_id.isnot(None))
            .returning(LE.c.id)).first()
        log.info("automation email for lead %s not sent: %s", trigger.lead_id, got)
        return CANCELLED if done is not None else None
    address, bidx, rendered = render_for(ctx, got.source, got.contact, trigger.owner_id,
                                         got.user, got.network_name)
    with ctx.autonomous() as tx:
        made = tx.execute(_CLAIM_NEW, {
            **trigger.row(rule, eid, now), "template_id": got.template.id,
            "lease_seconds": ctx.settings.lease_seconds,
            **sealed(ctx.vault_in(tx), trigger.network_id, eid, to=address, bidx=bidx,
                     rendered=rendered, locale=got.template.locale)}).first()
    if made is None or made.status != SENDING:
        if made is not None:
            log.info("email %s to a lead not sent: the address objected", eid)
        return made.status if made is not None else None
    try:
        used, smtp_id = _send(ctx, smtp, service, got.user, eid, trigger.owner_id, address,
                              rendered, bidx, got.template.locale or "fr", automatic=True)
    except MailDeliveryError as exc:
        return _failed(ctx, eid, 1, exc)
    except Exception:
        log.exception("email %s to a lead not sent; queued for another attempt", eid)
        with ctx.autonomous() as tx:  # the row is the once: its own event sends it
            if rows_affected(tx.execute(update(LE).where(LE.c.id == eid, LE.c.status == SENDING)
                                        .values(status=QUEUED, lease_until=None))):
                ctx.emit_in(tx, DUE_EVENT, {"email_id": str(eid)})
        return QUEUED
    _mark_sent(ctx, eid, used, smtp_id, rendered.subject)
    log.info("email %s to lead %s sent by %s (automation, at once)", eid, trigger.lead_id,
             used)
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
