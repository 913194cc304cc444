"""The data-subject task contract every holding service reads (compliance README).

Compliance emits ``dsr_task_requested {request_id, service, kind, attempt, ...}``; each
holding service takes the tasks addressed to it, asks ``compliance.dsr_subject`` who the
person is, acts, and reports ``dsr_task_reported``. What a task says and what the subject's
answer holds is one message format, so it is read in one place; what each service does
with it stays in that service. So does the handling every service gives a task (once
each, reported again on a retry): ``run_once``.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)

TASK_EVENT = "dsr_task_requested"
REPORT_EVENT = "dsr_task_reported"
#: the longest request id kept (compliance's are UUIDs)
MAX_REQUEST_ID = 64


class Kind(StrEnum):
    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    OBJECTION = "objection"
    PORTABILITY = "portability"


#: the kinds that only read: their report carries the person's data, a retry reads again
DATA_KINDS = frozenset({Kind.ACCESS, Kind.PORTABILITY})


class TaskError(ValueError):
    """A task event that cannot be read (asking again would not make it readable)."""


@dataclass(frozen=True)
class Task:
    request_id: str
    kind: Kind
    attempt: int


def task_for(payload: object, service: str) -> Task | None:
    """The task in a ``dsr_task_requested`` payload if it is ``service``'s, None if it is
    another service's; TaskError when it cannot be read."""
    if not isinstance(payload, Mapping):
        raise TaskError("the payload is not an object")
    if payload.get("service") != service:
        return None
    request_id = payload.get("request_id")
    if not isinstance(request_id, str) or not request_id.strip() \
            or len(request_id) > MAX_REQUEST_ID:
        raise TaskError("request_id is missing or too long")
    try:
        kind = Kind(str(payload.get("kind")))
    except ValueError:
        raise TaskError(f"unknown kind {payload.get('kind')!r}") from None
    attempt = payload.get("attempt", 1)
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        attempt = 1
    return Task(request_id.strip(), kind, attempt)


@dataclass(frozen=True)
class Subject:
    """What compliance's ``dsr_subject`` tells about the person (normalised by it)."""

    email: str | None
    phone: str | None  # E.164
    changes: Mapping[str, Any] = field(default_factory=dict)


def subject_of(answer: object) -> Subject:
    """Read a ``dsr_subject`` answer; anything not a non-empty string is no identifier."""
    data = answer if isinstance(answer, Mapping) else {}
    email, phone, changes = data.get("email"), data.get("phone"), data.get("changes")
    return Subject(email if isinstance(email, str) and email else None,
                   phone if isinstance(phone, str) and phone else None,
                   dict(changes) if isinstance(changes, Mapping) else {})


#: the error reported when a phone alone names several accounts
AMBIGUOUS_ERROR = ("ambiguous_subject: several accounts hold this phone number and the "
                   "request gives no email; register the request again with the person's "
                   "email to tell them apart")


@dataclass
class Outcome:
    """What a service did for a task: whether it holds the person, the records read or
    changed, an export (access, portability), or the error that failed the task."""

    found: bool
    records: int = 0
    data: Any = None
    error: str | None = None


def ambiguous() -> Outcome:
    return Outcome(found=True, error=AMBIGUOUS_ERROR)


def report(service: str, request_id: str, found: bool, records_affected: int,
           data: Any = None, error: str | None = None) -> dict[str, Any]:
    """The ``dsr_task_reported`` payload (compliance's contract)."""
    payload: dict[str, Any] = {"request_id": request_id, "service": service,
                               "found": bool(found),
                               "records_affected": max(0, int(records_affected))}
    if data is not None:
        payload["data"] = data
    if error is not None:
        payload["error"] = error[:500]
    return payload


def run_once(payload: object, service: str, *, lock: Callable[[str], None],
             done: Callable[[str], Outcome | None],
             subject: Callable[[str], Subject | None],
             act: Callable[[Task, Subject], Outcome]) -> dict[str, Any] | None:
    """Handle a ``dsr_task_requested`` event in the handler's own transaction: ``service``'s
    tasks only, once each. Returns the ``dsr_task_reported`` payload the service emits in
    that transaction (so the report leaves once the work is committed), or None.

    ``lock(request_id)`` serialises work on the request; ``done(request_id)`` is the
    outcome recorded by an earlier run, reported again instead of acting twice, its error
    too when the service records failures as final (access and portability only read:
    they are read again, with their data); ``subject`` asks
    compliance who the person is (None: the request is no longer open, nothing to do);
    ``act`` does the task and records it when it did not fail.
    """
    try:
        task = task_for(payload, service)
    except TaskError as err:
        log.warning("data-subject task ignored: %s", err)
        return None
    if task is None:
        return None
    lock(task.request_id)
    earlier = done(task.request_id)
    if earlier is not None and task.kind not in DATA_KINDS:
        log.info("data-subject task %s (attempt %d) already done: reported again",
                 task.request_id, task.attempt)
        return report(service, task.request_id, earlier.found, earlier.records,
                      error=earlier.error)
    person = subject(task.request_id)
    if person is None:
        log.info("data-subject task %s is no longer open at compliance: nothing to do",
                 task.request_id)
        return None
    outcome = act(task, person)
    log.info("data-subject task %s (%s): found %s, %d records%s", task.request_id,
             task.kind.value, outcome.found, outcome.records,
             f", failed: {outcome.error}" if outcome.error else "")
    return report(service, task.request_id, outcome.found, outcome.records, outcome.data,
                  outcome.error)
