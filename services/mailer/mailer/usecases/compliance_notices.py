"""Compliance's notices to controllers, through the system-email path (``system_emails``:
the one SMTP adapter, its ledger, its ``Message-ID``).

**A breach** (``breach_notice_requested``, one event per controller and stage): the
controller's address is asked of accounts (``senders``, for the batch; ``get_user`` from
an older accounts), the email is sent once per
``(breach_id, user_id, stage)`` (``recipient_key``: the ledger key, whatever event asked),
and ``breach_notice_sent {breach_id, user_id, stage, status}`` tells compliance how it
went: ``sent``; or ``failed`` when accounts knows no such user or no usable address, the
event carries no usable email, or the send failed on the event's last attempt (the
handler's retries, ``EVENT_RETRY_DELAYS_MS``, counted in ``notice_recipients.attempts``).
That last failure still raises, so the event becomes a dead letter staff can replay once
SMTP is back: a later success reports ``sent``. A notice already sent is reported ``sent``
again without a second email.

**A sub-processor change** (``subprocessor_change_announced``, one event): the wording is
kept (``subprocessor_notices``), the controllers are asked of accounts
(``register_controllers``) and each gets a ``notice_recipients`` row and a
``subprocessor_notice_due {change_id, user_id}`` event, all in the handler's transaction:
a crash before it commits redoes the fan-out, after it every email is on its way. Each
due event sends one email, once per ``(change_id, user_id)``; an announcement delivered
again adds only the controllers that were not there before.

Lock order: the handler's transaction never writes a recipient row before the email is
sent (only an autonomous transaction counts a failure), so the two cannot wait for each
other; an advisory lock per notice serialises two deliveries of one.

**In batches** (issue 12 section 7: 10,000 controllers for one breach). The workers
handling notices at the same moment hand them to one of them (``adapters.batching``),
which asks accounts once for all their controllers (``senders``), writes their ledger
rows in one statement, sends them over one SMTP connection and marks them in one
transaction (``system_emails.deliver_many``). Everything else stays each handler's own:
its inbox claim, its notice's advisory lock (held while the batch sends), its row, its
report, its retries and its dead letter. A notice refused in a batch fails alone.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nameko.exceptions import MethodNotFound
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from mailer import templates
from mailer.adapters.batching import GroupCommit
from mailer.domain import compliance_notices as rules
from mailer.domain.compliance_notices import FAILED, PENDING, SENT, Wording
from mailer.domain.messages import InvalidPayload, MailRequest, check_address
from mailer.models import notice_recipients, sent_emails, subprocessor_notices
from mailer.usecases import system_emails
from mailer.usecases.context import Ctx
from suivi_common import clock, consumer, events, outbox
from suivi_common.database import xact_lock
from suivi_common.errors import NotFound, ServiceUnavailable

log = logging.getLogger(__name__)

R = notice_recipients
NOTICE_SENT = "breach_notice_sent"
NOTICE_DUE = "subprocessor_notice_due"
FANOUT_BATCH = 1000
#: ids per ``accounts.senders`` question (its limit)
MAX_SENDERS = 500
#: ``(session or None for the worker's, status)``: tells compliance (breaches only).
Report = Callable[[Session | None, str], None]


def last_attempt() -> int:
    """How many times a reliable handler runs an event before dead-lettering it."""
    return len(consumer.retry_delays()) + 1


def register_controllers(ctx: Ctx) -> list[rules.Controller]:
    """Every controller (accounts' ``register_controllers``). An accounts without it (an
    older version during a rollout) is a 503: the event is retried."""
    try:
        answer = ctx.accounts.register_controllers()
    except MethodNotFound:
        raise ServiceUnavailable("accounts cannot list the controllers yet "
                                 "(register_controllers)") from None
    return rules.controllers(answer)


# --- breaches --------------------------------------------------------------------------------

def on_breach_notice_requested(ctx: Ctx, smtp: Any, payload: Any,
                               batcher: GroupCommit[Any, Any] | None = None) -> str:
    """Send one breach notice (see the module), in a batch with the notices other workers
    are handling now when ``batcher`` is given; returns the status reported."""
    notice = rules.parse_breach(payload)
    report = _Reporter(ctx, notice.report)
    return _deliver(ctx, smtp, notice.key, rules.BREACH, notice.breach_id, notice.stage,
                    notice.user_id, notice.wording, report, batcher)


# --- sub-processor changes -------------------------------------------------------------------

def on_subprocessor_change_announced(ctx: Ctx, payload: Any) -> int:
    """Keep the wording, and queue one email per controller not yet queued; returns how
    many were queued now."""
    change = rules.parse_change(payload)
    now = clock.now()
    ctx.session.execute(pg_insert(subprocessor_notices).values(
        change_id=change.change_id, subject=change.wording.subject, text=change.wording.text,
        announced_at=now).on_conflict_do_nothing(index_elements=["change_id"]))
    users = [c.user_id for c in register_controllers(ctx)]
    queued = 0
    for start in range(0, len(users), FANOUT_BATCH):
        rows = [{"id": rules.recipient_key(rules.SUBPROCESSOR, change.change_id, user_id),
                 "kind": rules.SUBPROCESSOR, "ref_id": change.change_id, "stage": 0,
                 "user_id": user_id, "status": PENDING, "attempts": 0, "created_at": now,
                 "updated_at": now} for user_id in users[start:start + FANOUT_BATCH]]
        new = ctx.session.execute(pg_insert(R).values(rows).on_conflict_do_nothing(
            index_elements=["id"]).returning(R.c.user_id)).scalars().all()
        for user_id in new:
            ctx.emit(NOTICE_DUE, {"change_id": change.change_id, "user_id": user_id})
        queued += len(new)
    log.info("sub-processor change %s: %d notices queued (%d controllers)", change.change_id,
             queued, len(users))
    return queued


def on_subprocessor_notice_due(ctx: Ctx, smtp: Any, payload: Any,
                               batcher: GroupCommit[Any, Any] | None = None) -> str | None:
    """Send one controller's notice of a change, once; None when there is nothing to do."""
    change_id = str(payload.get("change_id") or "") if isinstance(payload, dict) else ""
    user_id = str(payload.get("user_id") or "") if isinstance(payload, dict) else ""
    key = rules.recipient_key(rules.SUBPROCESSOR, change_id, user_id)
    notice = ctx.session.execute(select(subprocessor_notices).where(
        subprocessor_notices.c.change_id == change_id)).first()
    if notice is None or not user_id:
        log.warning("subprocessor_notice_due for an unknown change or user: ignored")
        return None
    return _deliver(ctx, smtp, key, rules.SUBPROCESSOR, change_id, 0, user_id,
                    Wording(notice.subject, notice.text), None, batcher)


# --- one notice to one controller ------------------------------------------------------------

@dataclass(frozen=True)
class _Notice:
    """One notice, to one controller, on its way into a batch (``_send_batch``)."""
    key: uuid.UUID
    kind: str
    ref_id: str
    user_id: str
    wording: Wording


#: ``("sent" | "failed", reason)``, or the exception the notice's send raised
_Outcome = tuple[str, str | None] | Exception


def _deliver(ctx: Ctx, smtp: Any, key: uuid.UUID, kind: str, ref_id: str, stage: int,
             user_id: str, wording: Wording | None, report: Report | None,
             batcher: GroupCommit[_Notice, _Outcome] | None = None) -> str:
    xact_lock(ctx.session, f"mailer-notice:{key}")
    # the notice's row and the ledger's, in one statement (after the lock: its snapshot
    # sees what an earlier delivery committed)
    status, ledger = ctx.session.execute(select(
        select(R.c.status).where(R.c.id == key).scalar_subquery(),
        select(sent_emails.c.state).where(sent_emails.c.message_id == str(key))
        .scalar_subquery())).one()
    if status == SENT or ledger == system_emails.SENT:
        return _settle(ctx, key, kind, ref_id, stage, user_id, SENT, None, report)
    if wording is None:
        log.warning("%s %s for user %s not sent: the event has no usable email", kind, ref_id,
                    user_id)
        return _settle(ctx, key, kind, ref_id, stage, user_id, FAILED, "invalid_notice", report)
    notice = _Notice(key, kind, ref_id, user_id, wording)
    try:
        # with the other notices being handled now, if any (one question to accounts, one
        # SMTP connection, the ledger written once for them all); this notice's lock, row
        # and report stay in this worker's transaction
        if batcher is None:
            [outcome] = _send_batch(ctx, smtp, [notice])
        else:
            outcome = batcher.submit(notice, lambda batch: _send_batch(ctx, smtp, batch))
        if isinstance(outcome, Exception):
            raise outcome
    except Exception:
        _count_failure(ctx, key, kind, ref_id, stage, user_id, report)
        raise
    status, reason = outcome
    return _settle(ctx, key, kind, ref_id, stage, user_id, status, reason, report)


def _controllers(ctx: Ctx, user_ids: list[str]) -> dict[str, Mapping[str, Any]]:
    """Each controller's account (``accounts.senders``, one question for the batch; one
    ``get_user`` each from an accounts without it). A user accounts does not know is
    absent."""
    found: dict[str, Mapping[str, Any]] = {}
    for start in range(0, len(user_ids), MAX_SENDERS):
        part = user_ids[start:start + MAX_SENDERS]
        try:
            answer = ctx.accounts.senders(part)
        except MethodNotFound:  # an older accounts: one question per controller
            for user_id in part:
                try:
                    found[user_id] = dict(ctx.accounts.get_user(user_id))
                except NotFound:
                    continue
            continue
        for user_id, sender in dict(answer).items():
            if isinstance(sender, Mapping) and isinstance(sender.get("user"), Mapping):
                found[str(user_id)] = sender["user"]
    return found


def _send_batch(ctx: Ctx, smtp: Any, batch: list[_Notice]) -> list[_Outcome]:
    """Each notice's outcome: its controller asked of accounts (once for the batch), its
    email sent once (``system_emails.deliver_many``: one connection, the ledger written
    once before and once after)."""
    users = _controllers(ctx, sorted({n.user_id for n in batch}))
    outcomes: list[_Outcome | None] = [None] * len(batch)
    requests: list[tuple[int, str, MailRequest]] = []
    seen: set[uuid.UUID] = set()
    for index, notice in enumerate(batch):
        user = users.get(notice.user_id)
        if user is None:
            log.warning("%s %s not sent: accounts knows no user %s", notice.kind,
                        notice.ref_id, notice.user_id)
            outcomes[index] = (FAILED, rules.NO_USER)
            continue
        try:
            address = check_address(str(user.get("email") or "").strip(), notice.kind)
        except InvalidPayload:
            log.warning("%s %s not sent: user %s has no usable address", notice.kind,
                        notice.ref_id, notice.user_id)
            outcomes[index] = (FAILED, rules.NO_ADDRESS)
            continue
        if notice.key in seen:  # cannot happen: each notice's lock is held by one worker
            outcomes[index] = ServiceUnavailable("the notice is already in this batch")
            continue
        seen.add(notice.key)
        requests.append((index, str(notice.key), MailRequest(
            notice.kind, notice.user_id, address,
            templates.compliance_notice(notice.wording.subject, notice.wording.text))))
    sent = system_emails.deliver_many(ctx, smtp, [(key, req) for _i, key, req in requests])
    for (index, _key, _req), result in zip(requests, sent, strict=True):
        outcomes[index] = result if isinstance(result, Exception) else (SENT, None)
    assert all(o is not None for o in outcomes)
    return outcomes  # type: ignore[return-value]


class _Reporter:
    """A breach notice's ``breach_notice_sent`` (``Report``): in the worker's transaction
    (``session`` None) or in ``session``'s. ``payload(status)`` lets ``_settle`` write the
    report with the notice's row, in one statement."""

    def __init__(self, ctx: Ctx, payload: Callable[[str], dict[str, Any]]) -> None:
        self.ctx = ctx
        self.payload = payload

    def __call__(self, session: Session | None, status: str) -> None:
        if session is None:
            self.ctx.emit(NOTICE_SENT, self.payload(status))
        else:
            self.ctx.emit_in(session, NOTICE_SENT, self.payload(status))


def _values(key: uuid.UUID, kind: str, ref_id: str, stage: int, user_id: str,
            status: str) -> dict[str, Any]:
    now = clock.now()
    return {"id": key, "kind": kind, "ref_id": ref_id, "stage": stage, "user_id": user_id,
            "status": status, "attempts": 0, "created_at": now, "updated_at": now}


#: A notice's outcome (``_settle``). Plain SQL: SQLAlchemy compiles a PostgreSQL ``ON
#: CONFLICT`` statement again for every execution (it cannot cache it), once per notice.
_SETTLE = text("""
INSERT INTO notice_recipients (id, kind, ref_id, stage, user_id, status, reason, attempts,
                               created_at, updated_at)
VALUES (:id, :kind, :ref_id, :stage, :user_id, :status, :reason, 0, :now, :now)
ON CONFLICT (id) DO UPDATE SET status = excluded.status, reason = excluded.reason,
    updated_at = excluded.updated_at""")


#: ``_SETTLE`` and the notice's ``breach_notice_sent`` outbox row (``outbox.emit``'s row:
#: the relay publishes it once the worker's transaction commits), in one statement: one
#: round trip fewer for every notice. The row is written whether the notice's was inserted
#: or updated (``settled`` returns it either way).
_SETTLE_AND_REPORT = text(f"""
WITH settled AS ({_SETTLE.text}
    RETURNING id)
INSERT INTO outbox (id, event_type, payload, headers)
SELECT :event_id, :event_type, CAST(:payload AS jsonb), CAST(:headers AS jsonb) FROM settled""")


def _settle(ctx: Ctx, key: uuid.UUID, kind: str, ref_id: str, stage: int, user_id: str,
            status: str, reason: str | None, report: Report | None) -> str:
    """Record the outcome in the worker's transaction, and report it."""
    values = {"id": key, "kind": kind, "ref_id": ref_id, "stage": stage, "user_id": user_id,
              "status": status, "reason": reason, "now": clock.now()}
    if not isinstance(report, _Reporter):
        ctx.session.execute(_SETTLE, values)
        if report is not None:
            report(None, status)
        return status
    payload = report.payload(status)
    events.validate(NOTICE_SENT, payload)  # as ``emit`` does
    ctx.session.execute(_SETTLE_AND_REPORT, {
        **values, "event_id": uuid.uuid4(), "event_type": NOTICE_SENT,
        "payload": json.dumps(payload), "headers": json.dumps(outbox.headers(ctx.db.context))})
    ctx.db.emitted += 1  # as ``Db.emit``: the relay is woken once the worker commits
    return status


def _count_failure(ctx: Ctx, key: uuid.UUID, kind: str, ref_id: str, stage: int,
                   user_id: str, report: Report | None) -> None:
    """One more failed attempt, in a transaction of its own (the worker's rolls back); on
    the event's last attempt the notice is ``failed``, and said so once."""
    try:
        with ctx.autonomous() as tx:
            row = tx.execute(pg_insert(R).values(**{**_values(key, kind, ref_id, stage, user_id,
                                                              PENDING), "attempts": 1})
                             .on_conflict_do_update(index_elements=["id"], set_={
                                 "attempts": R.c.attempts + 1, "updated_at": clock.now()})
                             .returning(R.c.attempts, R.c.status)).one()
            if row.attempts >= last_attempt() and row.status == PENDING:
                tx.execute(R.update().where(R.c.id == key).values(
                    status=FAILED, reason=rules.SEND_FAILED))
                log.error("%s %s for user %s failed %d times: given up (dead letter)", kind,
                          ref_id, user_id, row.attempts)
                if report is not None:
                    report(tx, FAILED)
    except Exception:
        log.exception("%s %s for user %s: could not count the failed attempt", kind, ref_id,
                      user_id)
