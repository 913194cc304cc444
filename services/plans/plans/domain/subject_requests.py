"""Data-subject requests as plans carries them out (GDPR art. 15 to 22; compliance README,
"Data-subject requests").

What plans stores that is personal, all of it about users of the platform (the person is
a user; plans holds nothing about prospects): their plans (tier, country, records
ordered, prices, payment method and payment id, dates, the entitlement state), the
extensions they bought, the day totals of their plans, the refund credits of their
claims, and their absences: dates, the reason's category, and for force majeure the
free-text details, the proof file and the staff comment, which may reveal health or
family matters (encrypted under the user's network key). Plans knows users by id only:
it holds no email and no phone, so it finds the person through accounts
(``accounts.subject_users``), which resolves who the request names once per request (the
same people after accounts erased or rectified the account). Several accounts sharing a
phone, without an email, are ambiguous: the task fails rather than act on someone else.

What each kind does:

* access, portability: everything above in ``data``, the proof files included (base64):
  they are what the person gave;
* rectification: plans holds none of the fields a rectification changes (names, email,
  phone, postal code, city): nothing to write;
* erasure: the absences' details, proof files and staff comments are erased. The plans,
  extensions, day totals and refund credits stay: they are the orders and their
  accounting (Code de commerce art. L123-22, ten years) and the proof of what the
  contract delivered (GDPR art. 17.3.b and 17.3.e); they hold ids, dates, amounts and
  counts, no contact data. An absence keeps its dates, status and the records it
  restored: they changed the plan's entitlement;
* restriction (art. 18): the absences' details and proofs are no longer shown to staff
  (only the user sees them); the plans keep running, since they are the service the user
  pays for and keeps using (ending them is the user's own choice, terms art. 10.B);
* objection (art. 21): plans processes the person's data only to perform the contract
  and to meet legal obligations, never on a legitimate interest of its own, so there is
  nothing to stop: the task is done with no record changed.

A task done is recorded and never done again: a retry gets the same report (access and
portability only read, so they read again and report their data).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

SERVICE = "plans"
TASK_EVENT = "dsr_task_requested"
REPORT_EVENT = "dsr_task_reported"
MAX_REQUEST_ID = 64

#: the absence columns an erasure empties (what may describe the person's life)
ERASED_ABSENCE_COLUMNS = ("details", "proof", "proof_mime", "proof_size", "proof_uploaded_at",
                          "staff_comment")


class Kind(StrEnum):
    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"
    OBJECTION = "objection"
    PORTABILITY = "portability"


DATA_KINDS = frozenset({Kind.ACCESS, Kind.PORTABILITY})


class TaskError(ValueError):
    """A task event plans cannot read (logged and dropped)."""


@dataclass(frozen=True)
class Task:
    request_id: str
    kind: Kind
    attempt: int


def task_for(payload: object, service: str = SERVICE) -> Task | None:
    """The task if it is ``service``'s, None for another service's; TaskError if unreadable."""
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
    return Task(request_id, kind, attempt)


@dataclass(frozen=True)
class Subject:
    """compliance's ``dsr_subject`` answer: the person's identifiers."""

    email: str | None
    phone: str | None
    changes: Mapping[str, Any] = field(default_factory=dict)


def subject_of(answer: object) -> Subject:
    data = answer if isinstance(answer, Mapping) else {}
    email, phone, changes = data.get("email"), data.get("phone"), data.get("changes")
    return Subject(email if isinstance(email, str) and email else None,
                   phone if isinstance(phone, str) and phone else None,
                   dict(changes) if isinstance(changes, Mapping) else {})


@dataclass(frozen=True)
class SubjectUsers:
    """accounts' ``subject_users`` answer: the person's user ids."""

    user_ids: tuple[str, ...]
    ambiguous: bool = False


def subject_users_of(answer: object) -> SubjectUsers:
    data = answer if isinstance(answer, Mapping) else {}
    ids = data.get("user_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValueError("subject_users answered without a list of user ids")
    return SubjectUsers(tuple(ids), bool(data.get("ambiguous")))


AMBIGUOUS_ERROR = ("ambiguous_subject: several accounts hold this phone number and the "
                   "request gives no email; register the request again with the person's "
                   "email to tell them apart")


def report(request_id: str, found: bool, records_affected: int, data: Any = None,
           error: str | None = None, service: str = SERVICE) -> dict[str, Any]:
    """The ``dsr_task_reported`` payload (compliance's contract)."""
    payload: dict[str, Any] = {"request_id": request_id, "service": service,
                               "found": bool(found),
                               "records_affected": max(0, int(records_affected))}
    if data is not None:
        payload["data"] = data
    if error is not None:
        payload["error"] = error[:500]
    return payload

