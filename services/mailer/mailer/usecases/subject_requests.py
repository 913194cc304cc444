"""The mailer's data-subject task (compliance's ``dsr_task_requested``, see
``domain.subject_requests``).

1. The task's person is asked of compliance (``dsr_subject``, as the mailer, while the task
   is open; a closed one answers 404 and the task is dropped).
2. The person is found through the mailer's own blind indexes: the address's index for
   every owner (those the email history names, and every controller accounts lists,
   ``register_controllers``) is matched against the history (``lead_emails.to_bidx``) and
   the opposition lists. Nothing is decrypted to search.
3. Per kind:

   * ``access``, ``portability``: ``data`` lists the emails (decrypted) and oppositions;
   * ``erasure``: each history row keeps a tombstone (ids, status, dates, ``erased_at``)
     and loses its address, index, subject and bodies; a waiting email is cancelled. The
     oppositions stay: they hold no address, and keep the person from being emailed;
   * ``objection``: the address's index goes on the opposition list of every owner, and
     waiting emails to it are blocked;
   * ``restriction``: the history rows are marked (``restricted_at``) and waiting emails
     cancelled;
   * neither stops an art. 34 breach notice to the person (``origin = "breach"``) that
     has not gone yet: the law requires it, whatever the person objected to (issue 12);
   * ``rectification``: the history rows and oppositions move to the new address (sealed
     and indexed anew).

4. ``dsr_task_reported`` goes out in the same transaction as the work and the
   ``dsr_tasks`` row that makes a repeated task (a retry, a late duplicate) report the same
   counts without redoing anything. Reads are simply done again. An advisory lock per
   request serialises two deliveries of one task. That handling is the one every service
   gives a task, ``suivi_common.dsr.run_once``; a kind the mailer does not know is
   reported failed here first (``run_once`` would drop it, and compliance ask forever).
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from nameko.exceptions import MethodNotFound
from sqlalchemy import ColumnElement, and_, delete, not_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mailer.domain import breach_subjects
from mailer.domain import subject_requests as rules
from mailer.domain.messages import InvalidPayload, check_address
from mailer.models import dsr_tasks, email_oppositions, lead_emails
from mailer.usecases.compliance_notices import register_controllers
from mailer.usecases.context import Ctx
from mailer.usecases.lead_emails import (
    BLOCKED,
    CANCELLED,
    QUEUED,
    SCHEDULED,
    SENDING,
    opened,
    opposition_index,
    scope_of,
)
from suivi_common import clock, dsr
from suivi_common.database import rows_affected
from suivi_common.dsr import Outcome
from suivi_common.errors import NotFound, ServiceUnavailable

log = logging.getLogger(__name__)

LE, OPP = lead_emails, email_oppositions
REPORT_EVENT = dsr.REPORT_EVENT
WAITING = (SCHEDULED, QUEUED)
#: Not sent yet, a send under way included (its lease may run out and it goes again).
UNSENT = (SCHEDULED, QUEUED, SENDING)
BATCH = 1000

Owner = tuple[str, str]  # (owner_id, network_id): whose list, under which key


@dataclass
class Found:
    """The person in the mailer's data: their index per owner, the history rows and the
    oppositions it matched."""
    index: dict[bytes, Owner]
    emails: list[Any] = field(default_factory=list)
    oppositions: list[Any] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.emails or self.oppositions)


def on_task_requested(ctx: Ctx, payload: Any) -> dict[str, Any] | None:
    """Do the mailer's task once and report it; returns the report (None: not ours, or no
    longer open)."""
    task = rules.parse_task(payload)
    if task is None:
        return None
    if task.kind not in rules.KINDS:
        return _emitted(ctx, dsr.report(rules.SERVICE, task.request_id, False, 0,
                                        error=f"unknown kind {task.kind[:40]!r}"))

    def done(request_id: str) -> Outcome | None:
        row = ctx.session.execute(select(dsr_tasks).where(
            dsr_tasks.c.request_id == request_id)).first()
        return None if row is None else Outcome(row.found, row.records_affected)

    def subject(request_id: str) -> dsr.Subject | None:
        try:
            return dsr.subject_of(ctx.compliance.dsr_subject(request_id))
        except NotFound:  # the task is no longer open: nothing to do
            return None
        except MethodNotFound:
            raise ServiceUnavailable("compliance cannot name the person yet (dsr_subject)") \
                from None

    def act(task: dsr.Task, person: dsr.Subject) -> Outcome:
        outcome = _act(ctx, task.kind.value, person)
        if outcome.error is None and task.kind not in rules.READS:
            ctx.session.execute(pg_insert(dsr_tasks).values(
                request_id=task.request_id, kind=task.kind.value, found=outcome.found,
                records_affected=outcome.records, done_at=clock.now())
                .on_conflict_do_nothing(index_elements=["request_id"]))
        return outcome

    report = dsr.run_once(payload, rules.SERVICE, done=done, subject=subject, act=act,
                          lock=lambda request_id: ctx.lock(f"mailer-dsr:{request_id}"))
    return None if report is None else _emitted(ctx, report)


def _emitted(ctx: Ctx, report: dict[str, Any]) -> dict[str, Any]:
    ctx.emit(REPORT_EVENT, report)
    return report


def _act(ctx: Ctx, kind: str, person: dsr.Subject) -> Outcome:
    address = rules.address_of(person.email)
    new = rules.new_address(person.changes) if kind == rules.RECTIFICATION else None
    if new is not None:
        try:
            check_address(new, kind)
        except InvalidPayload:
            return Outcome(False, 0, error="the new email address is not valid")
    owners = _owners(ctx)
    found = _find(ctx, address, owners) if address is not None else Found({})
    if kind in rules.READS:
        return _access(ctx, found)
    if kind == rules.ERASURE:
        return _erase(ctx, found)
    if kind == rules.OBJECTION:
        return _object(ctx, found, owners, address)
    if kind == rules.RESTRICTION:
        return _restrict(ctx, found)
    return _rectify(ctx, found, new)


def _owners(ctx: Ctx) -> set[Owner]:
    """Every owner whose lists may hold the person: those of the history, and every
    controller (the objection goes on the list of each)."""
    owners: set[Owner] = {(str(r.owner_id), str(r.network_id)) for r in ctx.session.execute(
        select(LE.c.owner_id, LE.c.network_id).distinct())}
    owners.update((c.user_id, c.network_id) for c in register_controllers(ctx)
                  if c.network_id is not None)
    return owners


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start:start + BATCH]


def _find(ctx: Ctx, address: str, owners: set[Owner]) -> Found:
    index = {opposition_index(ctx.vault, network_id, owner_id, address): (owner_id, network_id)
             for owner_id, network_id in sorted(owners)}
    found = Found(index)
    keys = list(index)
    for chunk in _chunks(keys):
        found.emails += [r for r in ctx.session.execute(
            select(LE).where(LE.c.to_bidx.in_(chunk), LE.c.erased_at.is_(None))
            .order_by(LE.c.created_at, LE.c.id))
            if index.get(bytes(r.to_bidx)) == (r.owner_id, r.network_id)]
    pairs = [(owner_id, bidx) for bidx, (owner_id, _) in index.items()]
    for part in _chunks(pairs):
        found.oppositions += list(ctx.session.execute(select(OPP).where(
            tuple_(OPP.c.owner_id, OPP.c.address_bidx).in_(part))))
    return found


def _ids(found: Found) -> list[uuid.UUID]:
    return [r.id for r in found.emails]


def _access(ctx: Ctx, found: Found) -> Outcome:
    emails = []
    for row in found.emails:
        to, rendered = opened(ctx.vault, row)
        emails.append({
            "id": str(row.id), "lead_id": str(row.lead_id), "owner_id": row.owner_id,
            "origin": row.origin, "status": row.status, "channel": row.channel, "to": to,
            "subject": rendered.subject if rendered else None,
            "body_text": rendered.text if rendered else None,
            "created_at": row.created_at.isoformat(),
            "sent_at": row.sent_at.isoformat() if row.sent_at else None,
            "restricted": row.restricted_at is not None})
    oppositions = [{"owner_id": o.owner_id, "recorded_at": o.recorded_at.isoformat()}
                   for o in found.oppositions]
    return Outcome(found.any, len(emails) + len(oppositions),
                   {"emails": emails, "oppositions": oppositions})


def _stop_waiting(ctx: Ctx, ids: list[uuid.UUID], *, spare_breach_notices: bool,
                  **values: Any) -> int:
    """Stop the waiting emails among ``ids``. An objection or a restriction spares the
    art. 34 breach notices (``breach_subjects.ORIGIN``): the law requires them, they are
    not the owner's prospecting the person refused (``breach_subjects.opposable``). An
    erasure stops them all: the address they would go to is gone."""
    count = 0
    for chunk in _chunks(ids):
        where: list[ColumnElement[bool]] = [LE.c.id.in_(chunk), LE.c.status.in_(WAITING)]
        if spare_breach_notices:
            where.append(LE.c.origin != breach_subjects.ORIGIN)
        count += rows_affected(ctx.session.execute(update(LE).where(*where).values(**values)))
    return count


def _erase(ctx: Ctx, found: Found) -> Outcome:
    ids, now = _ids(found), clock.now()
    _stop_waiting(ctx, ids, spare_breach_notices=False, status=CANCELLED,
                  cancel_reason=rules.ERASED)
    erased = 0
    for chunk in _chunks(ids):
        erased += rows_affected(ctx.session.execute(update(LE).where(LE.c.id.in_(chunk)).values(
            to_address=None, to_bidx=None, subject=None, body_text=None, body_html=None,
            erased_at=now)))
    return Outcome(found.any, erased)


def _object(ctx: Ctx, found: Found, owners: set[Owner], address: str | None) -> Outcome:
    if address is None:
        return Outcome(False, 0)
    now, added = clock.now(), 0
    rows = [{"owner_id": owner_id, "address_bidx": bidx, "recorded_at": now}
            for bidx, (owner_id, _) in found.index.items()]
    for chunk in _chunks(rows):
        added += len(ctx.session.execute(pg_insert(OPP).values(chunk).on_conflict_do_nothing(
            index_elements=["owner_id", "address_bidx"]).returning(OPP.c.owner_id)).all())
    blocked = _stop_waiting(ctx, _ids(found), spare_breach_notices=True, status=BLOCKED)
    return Outcome(found.any, added + blocked)


def _restrict(ctx: Ctx, found: Found) -> Outcome:
    ids, now = _ids(found), clock.now()
    _stop_waiting(ctx, ids, spare_breach_notices=True, status=CANCELLED,
                  cancel_reason=rules.RESTRICTED)
    marked = 0
    for chunk in _chunks(ids):  # a breach notice not yet sent stays sendable (unmarked)
        marked += rows_affected(ctx.session.execute(update(LE).where(
            LE.c.id.in_(chunk), LE.c.restricted_at.is_(None),
            not_(and_(LE.c.origin == breach_subjects.ORIGIN, LE.c.status.in_(UNSENT))))
            .values(restricted_at=now)))
    return Outcome(found.any, marked)


def _rectify(ctx: Ctx, found: Found, new: str | None) -> Outcome:
    """The history's rows and the oppositions move to the new address."""
    if new is None:
        return Outcome(found.any, 0)
    moved = 0
    for row in found.emails:
        # its key as it is now, locked: the re-keying timer may have moved the row since
        now_in = ctx.session.execute(select(LE.c.key_scope, LE.c.network_id)
                                     .where(LE.c.id == row.id).with_for_update()).one()
        ctx.session.execute(update(LE).where(LE.c.id == row.id).values(
            to_address=ctx.vault.encrypt(scope_of(now_in), "lead_emails", "to_address",
                                         row.id, new),
            to_bidx=opposition_index(ctx.vault, row.network_id, row.owner_id, new)))
        moved += 1
    for opposition in found.oppositions:
        owner_id, network_id = found.index[bytes(opposition.address_bidx)]
        bidx = opposition_index(ctx.vault, network_id, owner_id, new)
        if bidx == bytes(opposition.address_bidx):
            continue  # the same address, written differently: nothing moves
        ctx.session.execute(pg_insert(OPP).values(
            owner_id=owner_id, address_bidx=bidx, recorded_at=opposition.recorded_at)
            .on_conflict_do_nothing(index_elements=["owner_id", "address_bidx"]))
        ctx.session.execute(delete(OPP).where(OPP.c.owner_id == owner_id,
                                            OPP.c.address_bidx == opposition.address_bidx))
        moved += 1
    return Outcome(found.any, moved)
