"""The data-subject task contract every holding service reads (compliance README).

Compliance emits ``dsr_task_requested {request_id, service, kind, attempt, ...}``; each
holding service takes the tasks addressed to it, asks ``compliance.dsr_subject`` who the
person is, acts, and reports ``dsr_task_reported``. What a task says and what the subject's
answer holds is one message format, so it is read in one place; what each service does
with it stays in that service.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

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
