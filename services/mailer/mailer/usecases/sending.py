"""Sending emails to leads: once, never lost, never to someone who objected, in batches.

The queue is ``lead_emails`` itself. Every email to a lead is sent by ``send_claimed``,
for a batch of rows (issue 11 section 7):

1. the rows are *claimed*: ``queued`` (or ``scheduled`` and due) -> ``sending`` in one
   conditional ``UPDATE`` (``FOR UPDATE SKIP LOCKED`` of up to ``LEAD_MAIL_BATCH`` rows),
   with an attempt and a lease, committed before anything goes on the wire. Only one
   worker, of any instance, wins a row; the others skip it;
2. what the batch needs of the other services is asked once for the whole batch, both
   questions in flight together: ``leads.lead_contacts`` (the automations' leads) and
   ``accounts.senders`` (each owner's details and whether the office is open, never
   cached). A service that cannot answer leaves the whole batch for later (``scheduled``
   after the first retry delay, no attempt counted);
3. an automation's row is checked (``rules.cancel_reason``: erased lead, left status,
   closed office, paused owner, rule gone) and rendered with the template as it is now;
   the opposition list is read once for the batch (not for an art. 34 breach notice,
   ``breach_subjects``). Refused rows are ``cancelled`` or ``blocked_opposition``;
4. the emails go through each owner's channels (``channels``) over one SMTP connection
   for the batch (``SmtpConnection``); then, in one transaction, every row is recorded:
   ``sent`` with its ``lead_email_sent`` (and its rendered, sealed content), or back to
   ``scheduled`` with a backoff (``domain.retries``), or ``failed``;
5. a user's Gmail whose quota has no slot free answers ``Deferred``: the row goes back to
   ``scheduled`` with that not-before time, no attempt counted. No worker sleeps in
   Gmail's pacing, so other calls and other users' mail never wait behind it.

Who claims: the dispatcher timer (``dispatch``, every ``LEAD_MAIL_DISPATCH_SECONDS``),
which takes due rows in batches until fewer than a batch are due, and ``deliver``, the
handler of ``lead_email_due`` (office sends, breach notices, the timer's releases), which
claims its one row. Both go through the same claim, so a row is sent by one of them.

Exactly once: a row is marked ``sent`` only from ``sending``, so a redelivered event, a
second instance or a stuck sender finding it sent records nothing more. A worker killed
mid-batch leaves its rows ``sending`` with a lease (``lease_until``, on the platform clock,
like every other time rule, so tests move past a lease instead of waiting it out): the
timer (``release_due``) puts rows whose lease ran out back in the queue, and they are sent
again under the same ``Message-ID`` (the server may have taken the first: a duplicate is
then recognisably one mail, whereas giving up could lose it). Since a batch is recorded
once it is sent, such a kill can repeat the batch's emails already sent, not only the one
on the wire: ``LEAD_MAIL_BATCH`` bounds it.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

import eventlet
from nameko.exceptions import MethodNotFound, RpcTimeout, UnknownService
from sqlalchemy import func, select, text, update

from mailer import channels as channel_mod
from mailer.adapters.smtp import MailDeliveryError
from mailer.domain import automations as rules
from mailer.domain import breach_subjects, lead_mail, retries
from mailer.domain.templating import Rendered
from mailer.models import automation_pauses, automations, email_oppositions, lead_emails
from mailer.usecases.context import Ctx
from mailer.usecases.lead_emails import (
    AUTOMATION,
    BLOCKED,
    CANCELLED,
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
from suivi_common.errors import NotFound, ServiceUnavailable

log = logging.getLogger(__name__)

LE = lead_emails
RELEASE_BATCH = 500
MARK_ATTEMPTS = 5
OWNER_GONE = rules.OWNER_GONE
#: Batches one dispatcher tick sends at most before it lets the timer breathe.
MAX_ROUNDS = 40
#: Another service not answering (down, silent, or its own database gone).
UNREACHABLE = (ServiceUnavailable, RpcTimeout, UnknownService)

#: The claim, shared by the dispatcher (due rows, ``:one`` NULL) and ``deliver`` (its
#: row). Plain SQL, compiled once. Rows a data subject erased or restricted are never
#: taken; an automation's row is rendered once claimed, any other row was at its queueing.
_CLAIM = text(f"""
UPDATE lead_emails SET status = '{SENDING}', attempts = attempts + 1,
    lease_until = CAST(:now AS timestamptz) + make_interval(secs => :lease_seconds)
WHERE id IN (
    SELECT id FROM lead_emails
    WHERE (CAST(:one AS uuid) IS NULL AND status IN ('{QUEUED}', '{SCHEDULED}')
           AND due_at <= :now
           OR id = CAST(:one AS uuid) AND status = '{QUEUED}')
      AND erased_at IS NULL AND restricted_at IS NULL
      AND (subject IS NOT NULL OR origin = '{AUTOMATION}')
    ORDER BY due_at LIMIT :limit FOR UPDATE SKIP LOCKED)
RETURNING *""")
#: A row the batch gives back (cancelled, blocked, deferred): not an attempt. Only while
#: this batch's claim holds (``attempts`` is the claim's number): a claim whose lease ran
#: out and was taken over must not undo the newer one.
_GIVE_BACK = text(f"""
UPDATE lead_emails SET status = :status, cancel_reason = :reason, due_at = :due_at,
    attempts = greatest(attempts - 1, 0), lease_until = NULL
WHERE id = :id AND status = '{SENDING}' AND attempts = :attempts""")


def _domain(mail_from: str) -> str:
    address = parseaddr(mail_from)[1]
    return address.rpartition("@")[2] if "@" in address else "suivi.invalid"


def sendable(row: Any) -> bool:
    """Not a tombstone of a data-subject erasure, nor restricted by the person."""
    return row.erased_at is None and row.restricted_at is None


def claim(ctx: Ctx, limit: int, one: uuid.UUID | None = None) -> list[Any]:
    """Up to ``limit`` due rows (or the queued row ``one``), now ``sending`` with a lease
    and one attempt more, committed: this worker alone sends them.

    The clock is read with the connection in hand and no wait left before the statement
    (one statement on its own, in autocommit: no ``BEGIN`` round trip in between). A moment
    read before such a wait may be gone by the time the claim runs, and the lease would be
    short by that much: seen when a test moved the clock past a lease while a tick's claim
    waited, and the fresh claim was released at once, a third copy sent."""
    with ctx.autonomous() as tx:
        tx.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        return list(tx.execute(_CLAIM, {"lease_seconds": ctx.settings.lease_seconds,
                                        "now": clock.now(), "limit": limit,
                                        "one": one}).all())


def dispatch(ctx: Ctx, smtp: Any, service: Any = None) -> int:
    """The dispatcher's tick: ``LEAD_MAIL_DISPATCHERS`` green threads each claim and send
    due emails, a batch at a time, until fewer than a batch were due (the claim's ``SKIP
    LOCKED`` gives each row to one of them). Returns how many rows they took."""
    count = ctx.settings.dispatchers
    if count <= 1:
        return _dispatch_loop(ctx, smtp, service)
    pool = eventlet.GreenPool(count)
    loops = [pool.spawn(_dispatch_loop, ctx, smtp, service) for _ in range(count)]
    try:
        return sum(loop.wait() for loop in loops)
    finally:  # the worker killed (its container killed): its loops die with it
        for loop in loops:
            loop.kill()


def _dispatch_loop(ctx: Ctx, smtp: Any, service: Any) -> int:
    size, taken = ctx.settings.batch_size, 0
    for _ in range(MAX_ROUNDS):
        rows = claim(ctx, size)
        if rows:
            send_claimed(ctx, rows, smtp, service)
            taken += len(rows)
        if len(rows) < size:
            break
    return taken


def deliver(ctx: Ctx, email_id: Any, smtp: Any, service: Any = None) -> str | None:
    """``lead_email_due``: send that one queued email (see the module); returns what became
    of it, or None when there was nothing to do (already handled, or another worker has
    it: the dispatcher may have been first)."""
    try:
        eid = uuid.UUID(str(email_id))
    except ValueError:
        log.warning("lead_email_due without a valid email id")
        return None
    rows = claim(ctx, 1, one=eid)
    return send_claimed(ctx, rows, smtp, service).get(eid) if rows else None


@dataclass
class _Job:
    """One claimed row on its way out."""
    row: Any
    user: Mapping[str, Any]
    address: str
    bidx: bytes
    rendered: Rendered
    locale: str
    template_id: Any = None  # set when rendered by this batch (its sealed columns follow)
    outcome: str = ""
    detail: Any = None


def _ask(ctx: Ctx, lead_ids: list[str], owners: list[str]
         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``lead_contacts`` and ``senders``, both questions in flight at once."""
    contacts_call = ctx.leads.lead_contacts.call_async(lead_ids) if lead_ids else None
    try:
        senders = dict(ctx.accounts.senders(owners))
    except MethodNotFound:  # an older accounts during a rollout: one question per owner
        senders = _senders_one_by_one(ctx, owners)
    contacts: dict[str, Any] = {}
    if contacts_call is not None:
        try:
            contacts = dict(contacts_call.result())
        except MethodNotFound:  # an older leads: one question per lead
            contacts = _contacts_one_by_one(ctx, lead_ids)
    return contacts, senders


def _senders_one_by_one(ctx: Ctx, owners: list[str]) -> dict[str, Any]:
    found = {}
    for uid in owners:
        try:
            found[uid] = {"user": dict(ctx.accounts.get_user(uid)),
                          "office_active": bool(ctx.accounts.office_active(uid))}
        except NotFound:
            continue
    return found


def _contacts_one_by_one(ctx: Ctx, lead_ids: list[str]) -> dict[str, Any]:
    found = {}
    for lid in lead_ids:
        try:
            found[lid] = dict(ctx.leads.lead_contact(lid))
        except NotFound:
            continue
    return found


def send_claimed(ctx: Ctx, rows: Sequence[Any], smtp: Any, service: Any = None
                 ) -> dict[uuid.UUID, str]:
    """Check, render, send and record a batch of claimed rows (see the module); returns
    each row's new status."""
    auto = [r for r in rows if r.subject is None]
    owners = sorted({r.owner_id for r in rows})
    try:
        contacts, senders = _ask(ctx, sorted({str(r.lead_id) for r in auto}), owners)
    except UNREACHABLE as exc:  # leads or accounts cannot answer now: later, not an attempt
        delay = ctx.settings.retry_delays[0] if ctx.settings.retry_delays else 60.0
        due = clock.now() + timedelta(seconds=delay)
        log.warning("%d emails to leads wait %.0f s: %s", len(rows), delay, type(exc).__name__)
        _give_back(ctx, rows, [(r.id, SCHEDULED, None, due) for r in rows])
        return {r.id: SCHEDULED for r in rows}
    given_back: list[tuple[uuid.UUID, str, str | None, Any]] = []
    with ctx.autonomous() as reads:  # its own session: dispatchers run side by side
        here = ctx.on(reads)
        jobs = _prepare(here, rows, auto, contacts, senders, given_back)
        jobs = _unopposed(here, jobs, given_back)
    if given_back:
        _give_back(ctx, rows, given_back)
    outcome: dict[uuid.UUID, str] = {eid: status for eid, status, _r, _d in given_back}
    if jobs:
        _send_all(ctx, jobs, smtp, service)
        outcome.update(_record(ctx, jobs))
    return outcome


def _prepare(ctx: Ctx, rows: Sequence[Any], auto: Sequence[Any], contacts: Mapping[str, Any],
             senders: Mapping[str, Any], given_back: list[Any]) -> list[_Job]:
    from mailer.usecases.templates import load_for_send

    rule_rows: dict[Any, Any] = {}
    paused: set[str] = set()
    if auto:
        rule_rows = {r.id: r for r in ctx.session.execute(select(automations).where(
            automations.c.id.in_({r.automation_id for r in auto if r.automation_id})))}
        paused = set(ctx.session.execute(select(automation_pauses.c.user_id).where(
            automation_pauses.c.user_id.in_({r.owner_id for r in auto}))).scalars())
    loaded: dict[tuple[str, Any], Any] = {}
    jobs = []
    for row in rows:
        sender = senders.get(row.owner_id)
        if row.subject is not None:  # rendered when queued (office send, breach, retry)
            if sender is None:  # the account is gone: so is whoever would have sent it
                given_back.append((row.id, CANCELLED, rules.OWNER_GONE, row.due_at))
                log.info("email %s to a lead not sent: its owner's account is gone", row.id)
                continue
            address, rendered = opened(ctx.vault, row)
            assert address is not None and rendered is not None
            jobs.append(_Job(row, sender["user"], address, bytes(row.to_bidx), rendered,
                             row.locale or "fr"))
            continue
        rule = rule_rows.get(row.automation_id)
        contact = contacts.get(str(row.lead_id))
        reason = rules.cancel_reason(
            rule_status=rule.status if rule is not None and rule.enabled else None,
            lead=contact, owner_id=row.owner_id,
            office_open=bool(sender and sender.get("office_active")),
            paused=row.owner_id in paused)
        if reason is None:
            assert rule is not None and contact is not None and sender is not None
            key = (rule.network_id, rule.template_id)
            if key not in loaded:
                try:
                    loaded[key] = load_for_send(ctx.session, rule.network_id, rule.template_id)
                except NotFound:
                    loaded[key] = None
            if loaded[key] is None:
                reason = rules.RULE_GONE
        if reason is not None:
            given_back.append((row.id, CANCELLED, reason, row.due_at))
            log.info("automation email %s for lead %s not sent: %s", row.id, row.lead_id,
                     reason)
            continue
        assert contact is not None and sender is not None
        template, source, network_name = loaded[key]
        address, bidx, rendered = render_for(ctx, source, contact, row.owner_id,
                                             sender["user"], network_name)
        jobs.append(_Job(row, sender["user"], address, bidx, rendered,
                         template.locale or "fr", template_id=template.id))
    return jobs


def _unopposed(ctx: Ctx, jobs: list[_Job], given_back: list[Any]) -> list[_Job]:
    """The batch less the emails whose address objected (one read for the batch)."""
    asked = [j for j in jobs if breach_subjects.opposable(j.row.origin)]
    if not asked:
        return jobs
    o = email_oppositions
    opposed = {(owner, bytes(bidx)) for owner, bidx in ctx.session.execute(
        select(o.c.owner_id, o.c.address_bidx).where(
            o.c.address_bidx.in_({j.bidx for j in asked})))}
    kept = []
    for job in jobs:
        if breach_subjects.opposable(job.row.origin) and (job.row.owner_id, job.bidx) in opposed:
            given_back.append((job.row.id, BLOCKED, None, job.row.due_at))
            log.info("email %s to a lead not sent: the address objected", job.row.id)
        else:
            kept.append(job)
    return kept


def _give_back(ctx: Ctx, rows: Sequence[Any],
               items: Sequence[tuple[uuid.UUID, str, str | None, Any]]) -> None:
    claims = {r.id: r.attempts for r in rows}
    with ctx.autonomous() as tx:
        tx.execute(_GIVE_BACK, [{"id": eid, "status": status, "reason": reason, "due_at": due,
                                 "attempts": claims[eid]}
                                for eid, status, reason, due in items])


def _user_of(user: Mapping[str, Any]) -> Callable[[str], Mapping[str, Any]]:
    return lambda _uid: user


def _send_all(ctx: Ctx, jobs: list[_Job], smtp: Any, service: Any) -> None:
    """Every job on the wire, over one SMTP connection; each job gets its outcome."""
    settings = ctx.settings
    domain = _domain(settings.mail_from)
    connection = smtp.connection() if hasattr(smtp, "connection") else None
    try:
        for job in jobs:
            row = job.row
            message = lead_mail.build(
                job.rendered, to=job.address,
                msg_id=lead_mail.message_id(str(row.id), domain), now=clock.now(),
                unsubscribe_url=unsubscribe_url(ctx, row.owner_id, job.bidx),
                locale=job.locale, automatic=row.origin == AUTOMATION)
            smtp_channel = channel_mod.SmtpLeadChannel(connection or smtp, settings.mail_from,
                                                       _user_of(job.user))
            try:
                job.outcome = channel_mod.send(
                    channel_mod.channels_for(service, row.owner_id, smtp_channel),
                    row.owner_id, message)
                job.detail = str(message["Message-ID"])
            except channel_mod.Deferred as exc:
                job.outcome, job.detail = "deferred", exc.seconds
            except MailDeliveryError as exc:
                job.outcome, job.detail = "refused", exc
            except Exception as exc:  # a bug or an unforeseen failure: retried as a refusal
                log.exception("email %s to a lead not sent", row.id)
                job.outcome, job.detail = "refused", MailDeliveryError(type(exc).__name__)
    finally:
        if connection is not None:
            connection.close()


def _record(ctx: Ctx, jobs: list[_Job]) -> dict[uuid.UUID, str]:
    """Every job's outcome in one transaction: ``sent`` and ``lead_email_sent``, a retry,
    ``failed``, or a deferral. The database may just have cut the pool's connections: a
    lost connection is retried on a fresh one, since failing here would make the emails
    go out again."""
    for attempt in range(MARK_ATTEMPTS):
        try:
            return _record_once(ctx, jobs)
        except Exception as exc:
            if attempt + 1 == MARK_ATTEMPTS or not database_lost(exc):
                raise
            eventlet.sleep(0.1 * 2 ** attempt)
    raise AssertionError("unreachable")


#: The batch's sent rows recorded in one statement (arrays, one per column, so the SQL
#: is the same whatever the batch's size). A row rendered by this batch gets its sealed
#: content too; another keeps its own (``coalesce``: an unrendered row has none). Only
#: from ``sending``: a row another sender recorded, or erased meanwhile, returns nothing.
_MARK_SENT = text(f"""
UPDATE lead_emails AS e SET status = '{SENT}', sent_at = :now, channel = v.channel,
    lease_until = NULL, smtp_message_id = v.smtp_id, error = NULL,
    template_id = coalesce(v.template_id, e.template_id),
    to_address = coalesce(v.to_address, e.to_address), to_bidx = coalesce(v.to_bidx, e.to_bidx),
    subject = coalesce(v.subject, e.subject), body_text = coalesce(v.body_text, e.body_text),
    body_html = coalesce(v.body_html, e.body_html), locale = coalesce(v.locale, e.locale),
    key_scope = coalesce(v.key_scope, e.key_scope)
FROM unnest(CAST(:ids AS uuid[]), CAST(:channels AS varchar[]), CAST(:smtp_ids AS varchar[]),
            CAST(:template_ids AS uuid[]), CAST(:to_addresses AS bytea[]),
            CAST(:to_bidxs AS bytea[]), CAST(:subjects AS bytea[]),
            CAST(:body_texts AS bytea[]), CAST(:body_htmls AS bytea[]),
            CAST(:locales AS varchar[]), CAST(:key_scopes AS varchar[]))
    AS v(id, channel, smtp_id, template_id, to_address, to_bidx, subject, body_text,
         body_html, locale, key_scope)
WHERE e.id = v.id AND e.status = '{SENDING}'
RETURNING e.id, e.lead_id, e.owner_id, e.channel""")
#: each sealed column and the array parameter that carries it
_SEALED = {"to_address": "to_addresses", "to_bidx": "to_bidxs", "subject": "subjects",
           "body_text": "body_texts", "body_html": "body_htmls", "locale": "locales",
           "key_scope": "key_scopes"}


def _record_once(ctx: Ctx, jobs: list[_Job]) -> dict[uuid.UUID, str]:
    now, outcome = clock.now(), {}
    sent: dict[str, list[Any]] = {k: [] for k in ("ids", "channels", "smtp_ids",
                                                  "template_ids", *_SEALED.values())}
    subjects: dict[uuid.UUID, str] = {}
    with ctx.autonomous() as tx:
        vault = ctx.vault_in(tx)
        for job in jobs:
            row, values = job.row, {}
            if job.template_id is not None:  # rendered here: the history keeps what went,
                # under the owner's own key, as every other copy (end of contract shreds it)
                values = {"template_id": job.template_id, **sealed(
                    vault, row.network_id, row.id, to=job.address, bidx=job.bidx,
                    rendered=job.rendered, locale=job.locale, owner_id=row.owner_id)}
            if job.outcome not in ("deferred", "refused"):
                sent["ids"].append(row.id)
                sent["channels"].append(job.outcome)
                sent["smtp_ids"].append(job.detail)
                sent["template_ids"].append(values.get("template_id"))
                for column, param in _SEALED.items():
                    sent[param].append(values.get(column))
                subjects[row.id] = job.rendered.subject
                outcome[row.id] = SENT
                continue
            # only while this claim holds: a sender whose lease ran out and was taken over
            # (its conversation timed out meanwhile, say) must not undo the newer claim
            where = update(LE).where(LE.c.id == row.id, LE.c.status == SENDING,
                                     LE.c.attempts == row.attempts)
            if job.outcome == "deferred":
                status = SCHEDULED
                tx.execute(where.values(status=SCHEDULED, lease_until=None,
                                        attempts=func.greatest(LE.c.attempts - 1, 0),
                                        due_at=now + timedelta(seconds=job.detail), **values))
                log.info("email %s to a lead deferred %.1f s (Gmail quota)", row.id, job.detail)
            else:
                exc = job.detail
                when = retries.next_attempt(row.attempts, now, ctx.settings.retry_delays,
                                            exc.permanent)
                status = FAILED if when is None else SCHEDULED
                error = str(exc)[:200]
                tx.execute(where.values(status=status, lease_until=None, error=error,
                                        due_at=when or row.due_at, **values))
                log.warning("email %s to a lead not taken (attempt %d): %s; %s", row.id,
                            row.attempts, error, "given up" if when is None
                            else f"next attempt at {when.isoformat()}")
            outcome[row.id] = status
        if sent["ids"]:
            # absent from what it returns: erased meanwhile, or another sender recorded it.
            # The batch's reports in one statement (the outbox rows of ``emit_in``)
            ctx.emit_many_in(tx, "lead_email_sent", [{
                "lead_id": str(done.lead_id), "user_id": done.owner_id,
                "email_id": str(done.id), "subject": subjects[done.id],
                "sent_at": now.isoformat(), "channel": done.channel}
                for done in tx.execute(_MARK_SENT, {"now": now, **sent})])
            log.info("%d emails to leads sent", len(sent["ids"]))
    return outcome


def release_due(ctx: Ctx) -> int:
    """The timer: ``sending`` rows whose sender died (lease over) go back to ``queued``,
    for the dispatcher to send again. (Due ``scheduled`` rows need no release: the
    dispatcher claims them directly.) Several instances may run it: the conditional
    update gives each row to one."""
    stale = ctx.session.execute(
        update(LE).where(LE.c.status == SENDING, LE.c.lease_until < clock.now(),
                         LE.c.erased_at.is_(None), LE.c.restricted_at.is_(None))
        .values(status=QUEUED, lease_until=None).returning(LE.c.id)).scalars().all()
    for eid in stale:
        log.warning("email %s to a lead was cut off mid-send; sending again", eid)
    return len(stale)
