"""The platform's system emails: one event, one email, through the one SMTP adapter.

Each event becomes one email, sent inside its reliable handler: the inbox makes a
redelivered event a no-op; an SMTP failure raises, so the event is retried with backoff
and finally dead-lettered (staff replay it). ``sent_emails`` records what went out
without anything personal (no address, no link). Logs name the kind and the user id only.

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

The notices of section 6 (a lead erased, a refund claim or an absence decided, a payment
validated or failed, the subscription's end near, a plan lengthened by a sales closure)
name the user only: the address and first name are asked of accounts (``get_user``) when
the mail goes out; a user accounts no longer knows gets nothing.

The ledger is keyed by the event's message id here; ``deliver_once`` takes any key, so
compliance's notices (``compliance_notices``) key theirs by what makes a notice unique.
``deliver_many`` is ``deliver_once`` for a batch of them (the notices handled at the same
moment, ``adapters.batching``): the same ledger rules, but one statement writes the
batch's ``sending`` rows, one SMTP connection carries its emails, and one transaction
records them all.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import eventlet
from sqlalchemy import delete, select, text, update

from mailer.adapters.smtp import MailDeliveryError
from mailer.domain import messages
from mailer.models import sent_emails
from mailer.usecases.context import Ctx
from suivi_common import clock
from suivi_common.container import database_lost
from suivi_common.errors import Conflict, NotFound

log = logging.getLogger("mailer.service")

SENDING, SENT = "sending", "sent"
MARK_ATTEMPTS = 5
#: failed sends in a row after which a batch's other emails are not tried (they fail
#: as the last did, and their handlers retry them): a server that does not answer would
#: otherwise cost a whole timeout for every email of the batch
BATCH_FAILURES = 3


def _addressed(ctx: Ctx, kind: str, payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """The payload with the user's address and first name, from accounts; None if it no
    longer knows the user."""
    try:
        user = ctx.accounts.get_user(str(payload.get("user_id")))
    except NotFound:
        log.warning("%s email for user %s not sent: no such user", kind, payload.get("user_id"))
        return None
    return {**payload, "email": user.get("email"), "first_name": user.get("first_name")}


def mail(ctx: Ctx, smtp: Any, event_type: str, payload: Any) -> None:
    """Send the email ``event_type`` asks for, once (see the module)."""
    event_id = ctx.event_id()
    if not messages.wanted(event_type, payload):
        return
    login_url = ctx.settings.public_url + "/"
    kind, user_id = messages.KIND_OF_EVENT.get(event_type), payload.get("user_id")
    if already_sent(ctx, event_id):
        log.info("%s email for user %s already sent", kind, user_id)  # nothing to fetch
        return
    if kind in messages.ADDRESSED_BY_ACCOUNTS:
        payload = _addressed(ctx, str(kind), payload)
        if payload is None:
            return
    link_ref = messages.link_ref_of(event_type, payload)
    if link_ref is not None:
        try:
            link = ctx.accounts.password_link(link_ref)
        except Conflict as exc:
            log.warning("%s email for user %s not sent: %s", kind, user_id, exc.code)
            return
        payload = messages.with_link(payload, link)
    request = messages.request_for(event_type, payload, login_url)
    now = clock.now()
    if request.expired(now):
        assert request.expires_at is not None
        log.warning("%s email for user %s not sent: its link expired at %s",
                    request.kind, request.user_id, request.expires_at.isoformat())
        return
    deliver_once(ctx, smtp, event_id, request, now)


def already_sent(ctx: Ctx, key: str) -> bool:
    """The ledger says the email of ``key`` went out."""
    return ctx.session.execute(select(sent_emails.c.state).where(
        sent_emails.c.message_id == key)).scalar() == SENT


#: The ledger row of a new email, ``sending``; nothing when the key has one already. Plain
#: SQL: SQLAlchemy cannot cache a PostgreSQL ``ON CONFLICT`` statement.
_LEDGER_NEW = text(f"""
INSERT INTO sent_emails (id, kind, user_id, message_id, smtp_message_id, sent_at, state)
VALUES (:id, :kind, :user_id, :message_id, :smtp_message_id, :sent_at, '{SENDING}')
ON CONFLICT (message_id) DO NOTHING
RETURNING id""")


def deliver_once(ctx: Ctx, smtp: Any, key: str, request: messages.MailRequest,
                 now: datetime | None = None) -> bool:
    """Send ``request`` once under the ledger key ``key`` (an event's message id, or what
    names a notice): True when it went out now, False when the ledger says it already
    had. A failed send raises, with nothing recorded, so the caller's retry sends it."""
    now = now or clock.now()
    sender = ctx.settings.mail_from
    smtp_id = messages.smtp_message_id(key, request.kind, sender)
    with ctx.autonomous() as tx:  # one statement when new (the common case), two else
        state = None if tx.execute(_LEDGER_NEW, {
            "id": uuid.uuid4(), "kind": request.kind, "user_id": request.user_id,
            "message_id": key, "smtp_message_id": smtp_id, "sent_at": now}).first() \
            else tx.execute(select(sent_emails.c.state).where(
                sent_emails.c.message_id == key)).scalar()
    if state == SENT:
        log.info("%s email for user %s already sent", request.kind, request.user_id)
        return False
    if state == SENDING:
        log.warning("%s email for user %s: an earlier attempt was cut off mid-send; "
                    "sending again (%s)", request.kind, request.user_id, smtp_id)
    try:
        smtp.send(messages.build_message(request, sender, smtp_id, now))
    except Exception:
        with ctx.autonomous() as tx:  # not sent: the retry must send it
            tx.execute(delete(sent_emails).where(sent_emails.c.message_id == key,
                                                 sent_emails.c.state == SENDING))
        raise
    _mark_sent(ctx, key)
    log.info("%s email sent to user %s (%s)", request.kind, request.user_id, smtp_id)
    return True


#: A batch's new ledger rows, ``sending`` (arrays: the same SQL whatever the batch's size);
#: returns the keys that had none.
_LEDGER_NEW_MANY = text(f"""
INSERT INTO sent_emails (id, kind, user_id, message_id, smtp_message_id, sent_at, state)
SELECT v.id, v.kind, v.user_id, v.message_id, v.smtp_message_id, :sent_at, '{SENDING}'
FROM unnest(CAST(:ids AS uuid[]), CAST(:kinds AS varchar[]), CAST(:user_ids AS varchar[]),
            CAST(:message_ids AS varchar[]), CAST(:smtp_ids AS varchar[]))
    AS v(id, kind, user_id, message_id, smtp_message_id)
ON CONFLICT (message_id) DO NOTHING
RETURNING message_id""")
_LEDGER_STATES = text("SELECT message_id, state FROM sent_emails "
                      "WHERE message_id = ANY(CAST(:keys AS varchar[]))")
_LEDGER_SENT_MANY = text(f"UPDATE sent_emails SET state = '{SENT}', sent_at = :now "
                         "WHERE message_id = ANY(CAST(:keys AS varchar[]))")
_LEDGER_UNSENT_MANY = text(f"DELETE FROM sent_emails WHERE state = '{SENDING}' "
                           "AND message_id = ANY(CAST(:keys AS varchar[]))")


def deliver_many(ctx: Ctx, smtp: Any, batch: Sequence[tuple[str, messages.MailRequest]]
                 ) -> list[bool | Exception]:
    """``deliver_once`` for each ``(key, request)`` of ``batch``: for each, True when it
    went out now, False when the ledger says it already had, or the exception its send
    raised (nothing recorded for it: the caller's retry sends it). The batch's emails go
    over one SMTP connection, and the ledger is written before (one statement) and after
    (one transaction) the whole batch, not around each email. Keys must be distinct."""
    if not batch:
        return []
    now = clock.now()
    sender = ctx.settings.mail_from
    smtp_ids = [messages.smtp_message_id(key, request.kind, sender) for key, request in batch]
    keys = [key for key, _request in batch]
    with ctx.autonomous() as tx:
        new = set(tx.execute(_LEDGER_NEW_MANY, {
            "ids": [uuid.uuid4() for _ in batch], "kinds": [r.kind for _k, r in batch],
            "user_ids": [r.user_id for _k, r in batch], "message_ids": keys,
            "smtp_ids": smtp_ids, "sent_at": now}).scalars())
        old = [k for k in keys if k not in new]
        states = dict(tx.execute(_LEDGER_STATES, {"keys": old}).tuples().all()) if old else {}
    outcomes: list[bool | Exception] = []
    connection = smtp.connection() if hasattr(smtp, "connection") else None
    failures = 0  # in a row: a server that cannot be reached is not tried for every email
    try:
        for (key, request), smtp_id in zip(batch, smtp_ids, strict=True):
            if failures >= BATCH_FAILURES:
                outcomes.append(MailDeliveryError(
                    f"not tried: the {failures} emails before it in its batch failed"))
                continue
            state = states.get(key)
            if state == SENT:
                log.info("%s email for user %s already sent", request.kind, request.user_id)
                outcomes.append(False)
                continue
            if state == SENDING:
                log.warning("%s email for user %s: an earlier attempt was cut off mid-send; "
                            "sending again (%s)", request.kind, request.user_id, smtp_id)
            try:
                (connection or smtp).send(messages.build_message(request, sender, smtp_id, now))
                outcomes.append(True)
                failures = 0
            except Exception as exc:  # this one only: the batch's others go on
                failures += 1
                if not isinstance(exc, MailDeliveryError):
                    log.exception("%s email for user %s not sent", request.kind,
                                  request.user_id)
                outcomes.append(exc)
    finally:
        if connection is not None:
            connection.close()
    _record_many(ctx, [k for k, o in zip(keys, outcomes, strict=True) if o is True],
                 [k for k, o in zip(keys, outcomes, strict=True) if isinstance(o, Exception)])
    for (_key, request), smtp_id, outcome in zip(batch, smtp_ids, outcomes, strict=True):
        if outcome is True:
            log.info("%s email sent to user %s (%s)", request.kind, request.user_id, smtp_id)
    return outcomes


def _record_many(ctx: Ctx, sent: list[str], unsent: list[str]) -> None:
    """The batch's sent rows marked, its unsent ones gone (their retry sends them), in one
    transaction; a lost connection is retried, as ``_mark_sent``."""
    if not sent and not unsent:
        return
    for attempt in range(MARK_ATTEMPTS):
        try:
            with ctx.autonomous() as tx:
                if sent:
                    tx.execute(_LEDGER_SENT_MANY, {"keys": sent, "now": clock.now()})
                if unsent:
                    tx.execute(_LEDGER_UNSENT_MANY, {"keys": unsent})
            return
        except Exception as exc:
            if attempt + 1 == MARK_ATTEMPTS or not database_lost(exc):
                raise
            eventlet.sleep(0.1 * 2 ** attempt)


def _mark_sent(ctx: Ctx, event_id: str) -> None:
    """Record that the server took the email. The database may just have cut the pool's
    connections: a lost connection is retried on a fresh one, since failing here would
    make the retry send the email again."""
    for attempt in range(MARK_ATTEMPTS):
        try:
            with ctx.autonomous() as tx:
                tx.execute(update(sent_emails).where(sent_emails.c.message_id == event_id)
                           .values(state=SENT, sent_at=clock.now()))
            return
        except Exception as exc:
            if attempt + 1 == MARK_ATTEMPTS or not database_lost(exc):
                raise
            eventlet.sleep(0.1 * 2 ** attempt)
