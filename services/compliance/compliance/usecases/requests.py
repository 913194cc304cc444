"""Data-subject requests: register, process (fan out one task per holding service), take
the services' reports, retry late tasks, extend, deny, and the receipt.

Every command on a request locks its row first (``FOR UPDATE``) and appends to the audit
trail last, so two commands or reports racing on one request run one after the other and
the outcome (completed, failed) is decided once.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from compliance.domain import export as exports
from compliance.domain import requests as rules
from compliance.domain import subject as subjects
from compliance.domain.requests import Kind, RuleError, Status, TaskState, TaskStatus
from compliance.models import dsr_exports as X
from compliance.models import dsr_requests as R
from compliance.models import dsr_tasks as K
from compliance.usecases import answers, audit
from compliance.usecases.context import Ctx
from suivi_common import clock, paging
from suivi_common.crypto import KeyDestroyed
from suivi_common.database import row_by_id
from suivi_common.errors import Conflict, Invalid, NotFound
from suivi_common.ids import parse_uuid

log = logging.getLogger(__name__)

TASK_EVENT = "dsr_task_requested"


def refusal(err: RuleError) -> Exception:
    if err.conflict:
        return Conflict(err.message, code=err.code)
    return Invalid(err.message, fields={err.field: err.message} if err.field else None,
                   code=err.code)


def scope_of(request_id: uuid.UUID) -> str:
    """Each request's personal data has a key of its own, shredded after an erasure."""
    return f"dsr:{request_id}"


def _parse_instant(value: object, field: str) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        assert isinstance(value, str)
        return datetime.fromisoformat(value)
    except (AssertionError, ValueError):
        raise Invalid(f"{field} must be an ISO 8601 date and time",
                      fields={field: "ISO 8601 date and time with a time zone"}) from None


def register(ctx: Ctx, kind: object, email: object = None, phone: object = None,
             received_at: object = None, note: object = None,
             changes: object = None) -> dict[str, Any]:
    staff = ctx.compliance_staff()
    fields: dict[str, str] = {}
    parsed_kind: Kind | None = None
    person: subjects.Subject | None = None
    clean_changes = clean_note = None
    try:
        parsed_kind = rules.parse_kind(kind)
    except RuleError as err:
        fields["kind"] = err.message
    try:
        person = subjects.parse_subject(email, phone)
    except subjects.SubjectProblems as err:
        fields.update(err.fields)
    if received_at in (None, ""):
        fields["received_at"] = "is required"
        when = None
    else:
        when = _parse_instant(received_at, "received_at")
        try:
            rules.check_received_at(when, clock.now())
        except RuleError as err:
            fields["received_at"] = err.message
    try:
        clean_note = rules.check_text(note, "note", rules.MAX_NOTE, required=False)
    except RuleError as err:
        fields["note"] = err.message
    if parsed_kind is not None:
        try:
            clean_changes = rules.check_changes(parsed_kind, changes)
        except RuleError as err:
            fields["changes"] = err.message
    if fields or parsed_kind is None or person is None or when is None:
        raise Invalid("Some fields are not valid", fields=fields)
    request_id = uuid.uuid4()
    scope, now = scope_of(request_id), clock.now()

    def seal(column: str, value: str | None) -> bytes | None:
        return ctx.vault.encrypt(scope, "dsr_requests", column, request_id, value)

    ctx.session.execute(R.insert().values(
        id=request_id, kind=parsed_kind.value, status=Status.RECEIVED.value, received_at=when,
        due_on=rules.due_on(when), email=seal("email", person.email),
        phone=seal("phone", person.phone), note=seal("note", clean_note),
        changes=seal("changes", json.dumps(clean_changes) if clean_changes else None),
        has_email=person.email is not None, has_phone=person.phone is not None,
        **subject_indexes(ctx, person.email, person.phone),
        created_by=staff.user_id, created_at=now, updated_at=now))
    audit.append(ctx, "dsr.registered", {"type": "data_subject_request", "id": str(request_id)},
                 {"kind": parsed_kind.value, "due_on": rules.due_on(when).isoformat(),
                  "identifiers": [k for k, v in (("email", person.email),
                                                 ("phone", person.phone)) if v]})
    return get_request(ctx, str(request_id))


def subject_indexes(ctx: Ctx, email: str | None, phone: str | None) -> dict[str, str | None]:
    """The stored lookup keys of a request's person (the same HMACs the tasks carry)."""
    return {f"{kind}_index": subjects.subject_index(
        ctx.vault.subkey(subjects.SUBJECT_INDEX_PURPOSE.format(kind=kind)), value)
        for kind, value in (("email", email), ("phone", phone))}


def load_request(ctx: Ctx, request_id: object, lock: bool = False) -> Any:
    """The request's row (``FOR UPDATE`` with ``lock``); NotFound for an unknown or
    malformed id."""
    return row_by_id(ctx.session, R, request_id, "request", lock)


def _tasks(ctx: Ctx, request_id: uuid.UUID) -> list[Any]:
    return list(ctx.session.execute(select(K).where(K.c.request_id == request_id)
                                    .order_by(K.c.service)))


def decrypted_subject(ctx: Ctx, row: Any) -> dict[str, Any]:
    """The request's decrypted personal data (nothing once shredded, including by an
    erasure that completed after ``row`` was read)."""
    shredded = {"email": None, "phone": None, "note": None, "changes": None}
    if row.subject_shredded_at is not None:
        return shredded
    scope = scope_of(row.id)

    def open_(column: str) -> str | None:
        return ctx.vault.decrypt(scope, "dsr_requests", column, row.id, getattr(row, column))

    try:
        changes = open_("changes")
        return {"email": open_("email"), "phone": open_("phone"), "note": open_("note"),
                "changes": json.loads(changes) if changes else None}
    except KeyDestroyed:
        return shredded


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _task_view(task: Any, now: datetime, late_after: Any) -> dict[str, Any]:
    status = TaskStatus(task.status)
    return {"service": task.service, "status": status.value, "attempts": task.attempts,
            "first_sent_at": _iso(task.first_sent_at), "last_sent_at": _iso(task.last_sent_at),
            "answered_at": _iso(task.answered_at), "found": task.found,
            "records_affected": task.records_affected, "error": task.error,
            "late": rules.is_late(status, task.first_sent_at, task.answered_at is not None, now,
                                  late_after)}


def export_state(ctx: Ctx, row: Any) -> exports.ExportState:
    """Whether the request's export can be downloaded, until when, or when it went."""
    return exports.state(row.kind, row.status, row.completed_at, row.export_destroyed_at,
                         clock.now(), ctx.settings.dsr_export_days)


def _export_view(ctx: Ctx, row: Any) -> dict[str, Any] | None:
    s = export_state(ctx, row)
    return s.as_dict() if s.applicable else None


def _view(ctx: Ctx, row: Any, with_subject: bool = True) -> dict[str, Any]:
    now, late_after = clock.now(), ctx.settings.dsr_task_late_after
    tasks = [_task_view(t, now, late_after) for t in _tasks(ctx, row.id)]
    status = Status(row.status)
    view = {"id": str(row.id), "kind": row.kind, "status": status.value,
            "received_at": row.received_at.isoformat(), "due_on": row.due_on.isoformat(),
            "overdue": status not in rules.TERMINAL and clock.today() > row.due_on,
            "extension_months": row.extension_months, "extensions": row.extensions,
            "has_email": row.has_email, "has_phone": row.has_phone,
            "created_by": row.created_by, "created_at": row.created_at.isoformat(),
            "started_at": _iso(row.started_at), "completed_at": _iso(row.completed_at),
            "denied_reason": row.denied_reason,
            "subject_shredded": row.subject_shredded_at is not None,
            "late": any(t["late"] for t in tasks), "tasks": tasks,
            "export": _export_view(ctx, row)}
    if with_subject:
        view.update(decrypted_subject(ctx, row))
    return view


def get_request(ctx: Ctx, request_id: object) -> dict[str, Any]:
    ctx.compliance_staff()
    return _view(ctx, load_request(ctx, request_id))


def list_requests(ctx: Ctx, status: object = None, cursor: object = None,
                  limit: object = None) -> dict[str, Any]:
    """Newest first. The list does not decrypt: open a request to see who it is about."""
    ctx.compliance_staff()
    size = paging.check_limit(limit)
    query = select(R)
    if status not in (None, ""):
        try:
            query = query.where(R.c.status == Status(str(status)).value)
        except ValueError:
            raise Invalid("Unknown status", fields={"status": "unknown status"}) from None
    return paging.listing(ctx.session, query, R, cursor, size,
                          lambda row: _view(ctx, row, with_subject=False), newest_first=True,
                          kind="dsr")


def _send_task(ctx: Ctx, row: Any, service: str, attempt: int) -> None:
    person = decrypted_subject(ctx, row)
    email_key = ctx.vault.subkey(subjects.SUBJECT_INDEX_PURPOSE.format(kind="email"))
    phone_key = ctx.vault.subkey(subjects.SUBJECT_INDEX_PURPOSE.format(kind="phone"))
    ctx.emit(TASK_EVENT, {
        "request_id": str(row.id), "service": service, "kind": row.kind, "attempt": attempt,
        "due_on": row.due_on.isoformat(),
        "email_index": subjects.subject_index(email_key, person["email"]),
        "phone_index": subjects.subject_index(phone_key, person["phone"])})


def process(ctx: Ctx, request_id: object) -> dict[str, Any]:
    """Start (or resume after a failure): one task per holding service that has not
    reported done; the others are not asked again."""
    ctx.compliance_staff()
    row = load_request(ctx, request_id, lock=True)
    try:
        rules.check_can_process(Status(row.status))
    except RuleError as err:
        raise refusal(err) from None
    now = clock.now()
    existing = {t.service: t for t in _tasks(ctx, row.id)}
    sent = rules.tasks_to_send({s: TaskStatus(t.status) for s, t in existing.items()})
    for service in sent:
        task = existing.get(service)
        attempt = 1 if task is None else task.attempts + 1
        ctx.session.execute(pg_insert(K).values(
            request_id=row.id, service=service, status=TaskStatus.PENDING.value,
            attempts=attempt, first_sent_at=now, last_sent_at=now)
            .on_conflict_do_update(index_elements=["request_id", "service"], set_={
                "status": TaskStatus.PENDING.value, "attempts": attempt, "first_sent_at": now,
                "last_sent_at": now, "answered_at": None, "error": None}))
        _send_task(ctx, row, service, attempt)
    resumed = row.status == Status.FAILED.value
    ctx.session.execute(update(R).where(R.c.id == row.id).values(
        status=Status.IN_PROGRESS.value, updated_at=now, started_at=row.started_at or now))
    audit.append(ctx, "dsr.resumed" if resumed else "dsr.processing_started",
                 {"type": "data_subject_request", "id": str(row.id)}, {"services": sent})
    return _view(ctx, load_request(ctx, row.id))


def deny(ctx: Ctx, request_id: object, reason: object) -> dict[str, Any]:
    ctx.compliance_staff()
    row = load_request(ctx, request_id, lock=True)
    try:
        rules.check_can_deny(Status(row.status))
        text = rules.check_text(reason, "reason", rules.MAX_REASON, required=True)
    except RuleError as err:
        raise refusal(err) from None
    now = clock.now()
    ctx.session.execute(update(R).where(R.c.id == row.id).values(
        status=Status.DENIED.value, denied_reason=text, updated_at=now, completed_at=now))
    # what services already returned will never be exported: it goes now
    dropped = answers.drop(ctx, row.id)
    audit.append(ctx, "dsr.denied", {"type": "data_subject_request", "id": str(row.id)},
                 {"kind": row.kind, "answers_destroyed": dropped["services"]})
    return _view(ctx, load_request(ctx, row.id))


def extend(ctx: Ctx, request_id: object, months: object, reason: object) -> dict[str, Any]:
    staff = ctx.compliance_staff()
    row = load_request(ctx, request_id, lock=True)
    try:
        total = rules.check_extension(Status(row.status), row.extension_months, months)
        text = rules.check_text(reason, "reason", rules.MAX_REASON, required=True)
    except RuleError as err:
        raise refusal(err) from None
    now = clock.now()
    due = rules.due_on(row.received_at, total)
    ctx.session.execute(update(R).where(R.c.id == row.id).values(
        extension_months=total, due_on=due, updated_at=now,
        extensions=[*row.extensions, {"months": months, "reason": text, "at": now.isoformat(),
                                      "by": staff.user_id}]))
    audit.append(ctx, "dsr.extended", {"type": "data_subject_request", "id": str(row.id)},
                 {"months": months, "due_on": due.isoformat()})
    return _view(ctx, load_request(ctx, row.id))


def on_task_reported(ctx: Ctx, source: str, payload: dict[str, Any]) -> None:
    """A service's report on its task. Idempotent: a task already done stays as it is; a
    report for a request no longer in progress (denied) is recorded nowhere but the log."""
    try:
        request_id, found, count, error = rules.check_report(payload, source)
    except RuleError as err:
        log.warning("dsr report from %s ignored: %s", source, err.message)
        return
    rid = parse_uuid(request_id)
    row = ctx.session.execute(select(R).where(R.c.id == rid).with_for_update()).first() \
        if rid is not None else None
    if row is None:
        log.warning("dsr report from %s for unknown request %s ignored", source, request_id)
        return
    task = ctx.session.execute(select(K).where(K.c.request_id == row.id, K.c.service == source)
                               .with_for_update()).first()
    if task is None or task.status != TaskStatus.PENDING.value \
            or row.status != Status.IN_PROGRESS.value:
        log.info("dsr report from %s for request %s: nothing to do (%s, task %s)", source,
                 row.id, row.status, task.status if task else None)
        return
    now = clock.now()
    data = payload.get("data")
    ctx.session.execute(update(K).where(K.c.request_id == row.id, K.c.service == source).values(
        status=(TaskStatus.FAILED if error else TaskStatus.DONE).value, answered_at=now,
        found=found, records_affected=count, error=error,
        data=answers.seal(ctx, row.id, source, data)))
    states = [TaskState(t.service, TaskStatus(t.status)) for t in _tasks(ctx, row.id)]
    result = rules.outcome(states)
    subject = {"type": "data_subject_request", "id": str(row.id)}
    audit_details: dict[str, Any] = {"service": source, "found": found,
                                     "records_affected": count, "failed": bool(error)}
    if result is not Status.IN_PROGRESS:
        values: dict[str, Any] = {"status": result.value, "updated_at": now}
        if result is Status.COMPLETED:
            values["completed_at"] = now
            if row.kind == Kind.ERASURE.value:
                _shred_earlier(ctx, row, now)
                _shred_subject(ctx, row, values, now)
        ctx.session.execute(update(R).where(R.c.id == row.id).values(**values))
        audit_details["request_status"] = result.value
    audit.append(ctx, "dsr.task_reported", subject, audit_details,
                 actor={"type": "service", "id": source})


def _shred_subject(ctx: Ctx, row: Any, values: dict[str, Any], now: datetime) -> None:
    """An erasure done everywhere leaves no trace of the person here either: the request's
    keys are destroyed and its encrypted columns emptied; the receipt keeps counts only."""
    ctx.vault.destroy(scope_of(row.id))
    values.update(email=None, phone=None, note=None, changes=None, email_index=None,
                  phone_index=None, subject_shredded_at=now)
    answers.drop(ctx, row.id)


def _shred_earlier(ctx: Ctx, row: Any, now: datetime) -> int:
    """The person's other closed requests (an earlier objection, an access request...) keep
    their kind, dates, statuses and receipts, but no longer say whom they were about: after
    an erasure compliance holds nothing that names the person (an earlier objection stays
    honoured by the services' opposition lists, as blind indexes only). Requests still
    open keep their subject: they need it to finish. Returns how many were shredded.

    Found through the subject indexes (``email_index``, ``phone_index``), a lookup, not by
    decrypting every closed request: equal indexes are equal normalised identifiers."""
    same = [column == index for column, index in ((R.c.email_index, row.email_index),
                                                  (R.c.phone_index, row.phone_index))
            if index is not None]
    if not same:
        return 0
    others = ctx.session.execute(select(R).where(
        or_(*same), R.c.id != row.id, R.c.subject_shredded_at.is_(None),
        R.c.status.in_([s.value for s in rules.TERMINAL])).order_by(R.c.id)
        .with_for_update()).all()
    shredded = 0
    for other in others:
        values: dict[str, Any] = {"updated_at": now}
        _shred_subject(ctx, other, values, now)
        ctx.session.execute(update(R).where(R.c.id == other.id).values(**values))
        audit.append(ctx, "dsr.subject_shredded",
                     {"type": "data_subject_request", "id": str(other.id)},
                     {"erasure_request_id": str(row.id)})
        shredded += 1
    return shredded


def retry_late(ctx: Ctx, limit: int = 500) -> int:
    """Ask again every task that waited past the late threshold (timer; compliance only).
    Returns how many went out."""
    now, late_after = clock.now(), ctx.settings.dsr_task_late_after
    rows = ctx.session.execute(
        select(K, R.c.status.label("request_status")).join(R, R.c.id == K.c.request_id)
        .where(K.c.status == TaskStatus.PENDING.value, K.c.last_sent_at <= now - late_after,
               R.c.status == Status.IN_PROGRESS.value)
        .order_by(K.c.last_sent_at).limit(limit).with_for_update(of=K, skip_locked=True)).all()
    sent = 0
    for task in rows:
        if not rules.retry_due(TaskStatus(task.status), task.last_sent_at, now, late_after):
            continue
        request = load_request(ctx, task.request_id)
        ctx.session.execute(update(K).where(K.c.request_id == task.request_id,
                                            K.c.service == task.service)
                            .values(attempts=task.attempts + 1, last_sent_at=now))
        _send_task(ctx, request, task.service, task.attempts + 1)
        audit.append(ctx, "dsr.task_retried",
                     {"type": "data_subject_request", "id": str(task.request_id)},
                     {"service": task.service, "attempt": task.attempts + 1})
        sent += 1
    return sent


def receipt(ctx: Ctx, request_id: object) -> dict[str, Any]:
    """What each service found and did, with counts and times: for a closed request."""
    ctx.compliance_staff()
    row = load_request(ctx, request_id)
    if row.status not in (Status.COMPLETED.value, Status.DENIED.value):
        raise Conflict("The receipt exists once the request is completed or denied",
                       code="request_not_closed")
    services = [{"service": t.service, "found": t.found, "records_affected": t.records_affected,
                 "requested_at": _iso(t.first_sent_at), "answered_at": _iso(t.answered_at),
                 "attempts": t.attempts} for t in _tasks(ctx, row.id)]
    return {"request_id": str(row.id), "kind": row.kind, "status": row.status,
            "received_at": row.received_at.isoformat(), "due_on": row.due_on.isoformat(),
            "completed_at": _iso(row.completed_at), "denied_reason": row.denied_reason,
            "on_time": row.completed_at is not None
            and row.completed_at.astimezone(clock.PARIS).date() <= row.due_on,
            "services": services,
            "records_affected": sum(s["records_affected"] or 0 for s in services),
            "subject_shredded": row.subject_shredded_at is not None,
            "export": _receipt_export(ctx, row),
            "issued_at": clock.now().isoformat()}


def _receipt_export(ctx: Ctx, row: Any) -> dict[str, Any] | None:
    """An access or portability request's export: available or not, until when, built
    when (its first download), destroyed when."""
    view = _export_view(ctx, row)
    if view is None:
        return None
    built = ctx.session.execute(select(X.c.built_at).where(X.c.request_id == row.id)).scalar()
    return {**view, "built_at": _iso(built)}


def subject_for(ctx: Ctx, request_id: object, service: str) -> dict[str, Any]:
    """For a holding service working on its open task: the normalised identifiers (and a
    rectification's changes) to compute its own blind indexes with. Nothing otherwise."""
    row = load_request(ctx, request_id)
    task = ctx.session.execute(select(K.c.status).where(
        K.c.request_id == row.id, K.c.service == service)).scalar()
    if row.status != Status.IN_PROGRESS.value or task != TaskStatus.PENDING.value:
        raise NotFound("No open task of this service on this request")
    person = decrypted_subject(ctx, row)
    return {"request_id": str(row.id), "kind": row.kind, "email": person["email"],
            "phone": person["phone"], "changes": person["changes"]}
