"""Data-subject requests (GDPR art. 15-22; annex IV.8): kinds, states, deadlines, and how
the answers of the services holding personal data decide the outcome.

States: ``received`` -> ``in_progress`` -> ``completed`` | ``denied`` (with a reason) |
``failed``. ``failed`` is resumable: processing again re-sends only the tasks that did not
succeed, so work a service reported done is never asked twice.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from compliance.domain.calendar import add_months
from suivi_common.clock import PARIS
from suivi_common.dsr import Kind as Kind  # the task contract's kinds

MAX_EXTENSION_MONTHS = 2
MAX_REASON = 2000
MAX_NOTE = 4000
#: The services that can hold personal data of a data subject: each gets one task.
HOLDERS = ("accounts", "plans", "leads", "mailer")
#: What a rectification may change (in every copy, with history).
RECTIFIABLE = ("first_name", "last_name", "email", "phone", "postal_code", "city")
MAX_CHANGE = 200


class Status(StrEnum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DENIED = "denied"
    FAILED = "failed"


TERMINAL = (Status.COMPLETED, Status.DENIED)


class TaskStatus(StrEnum):
    PENDING = "pending"  # sent, no answer yet
    DONE = "done"
    FAILED = "failed"


class RuleError(ValueError):
    """A refusal: ``code`` for clients, ``field`` when one input is at fault."""

    def __init__(self, message: str, code: str, field: str | None = None,
                 conflict: bool = False) -> None:
        super().__init__(message)
        self.message, self.code, self.field, self.conflict = message, code, field, conflict


def parse_kind(value: object) -> Kind:
    try:
        return Kind(str(value))
    except ValueError:
        raise RuleError("Unknown request kind", "invalid_kind", "kind") from None


def received_day(received_at: datetime) -> date:
    """The calendar day the request arrived, in Paris (where the platform's days are)."""
    return received_at.astimezone(PARIS).date()


def due_on(received_at: datetime, extension_months: int = 0) -> date:
    """One month after receipt, plus any extension, counted from the day of receipt."""
    return add_months(received_day(received_at), 1 + extension_months)


def check_received_at(received_at: datetime, now: datetime) -> None:
    if received_at.tzinfo is None:
        raise RuleError("received_at needs a time zone", "invalid_received_at", "received_at")
    if received_at > now + timedelta(minutes=5):
        raise RuleError("A request cannot be received in the future", "received_in_future",
                        "received_at")


def check_text(value: object, field: str, limit: int, required: bool) -> str | None:
    if value in (None, ""):
        if required:
            raise RuleError(f"{field} is required", f"{field}_required", field)
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise RuleError(f"{field} must be text of at most {limit} characters",
                        f"invalid_{field}", field)
    if required and not value.strip():
        raise RuleError(f"{field} is required", f"{field}_required", field)
    return value


def check_changes(kind: Kind, changes: object) -> dict[str, str] | None:
    """A rectification says what to change; no other kind carries changes."""
    if kind is not Kind.RECTIFICATION:
        if changes not in (None, {}):
            raise RuleError("Only a rectification carries changes", "changes_not_allowed",
                            "changes")
        return None
    if not isinstance(changes, Mapping) or not changes:
        raise RuleError("A rectification says which fields to change", "changes_required",
                        "changes")
    clean: dict[str, str] = {}
    for key, value in changes.items():
        if key not in RECTIFIABLE:
            raise RuleError(f"{key} cannot be rectified here (one of {', '.join(RECTIFIABLE)})",
                            "invalid_changes", "changes")
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_CHANGE:
            raise RuleError(f"{key} must be text of 1 to {MAX_CHANGE} characters",
                            "invalid_changes", "changes")
        clean[str(key)] = value.strip()
    return clean


def check_extension(status: Status, current_months: int, months: object) -> int:
    """Up to two further months in all (art. 12(3)), while the request is open."""
    if status in TERMINAL:
        raise RuleError("This request is closed", "request_closed", conflict=True)
    if not isinstance(months, int) or isinstance(months, bool) or months < 1:
        raise RuleError("months must be 1 or 2", "invalid_months", "months")
    if current_months + months > MAX_EXTENSION_MONTHS:
        raise RuleError(f"A request is extended by at most {MAX_EXTENSION_MONTHS} months in all",
                        "extension_exceeded", "months", conflict=True)
    return current_months + months


def check_can_process(status: Status) -> None:
    if status not in (Status.RECEIVED, Status.FAILED):
        raise RuleError(f"A request {status.value} cannot be processed", "not_processable",
                        conflict=True)


def check_can_deny(status: Status) -> None:
    if status in TERMINAL:
        raise RuleError("This request is closed", "request_closed", conflict=True)


@dataclass(frozen=True)
class TaskState:
    service: str
    status: TaskStatus


def outcome(tasks: Iterable[TaskState]) -> Status:
    """What the answers so far make of an in-progress request."""
    states = [t.status for t in tasks]
    if len(states) < len(HOLDERS) or TaskStatus.PENDING in states:
        return Status.IN_PROGRESS
    if TaskStatus.FAILED in states:
        return Status.FAILED
    return Status.COMPLETED


def tasks_to_send(existing: Mapping[str, TaskStatus]) -> list[str]:
    """The services to ask on (re)processing: never one that reported done."""
    return [s for s in HOLDERS if existing.get(s) is not TaskStatus.DONE]


def retry_due(status: TaskStatus, last_sent_at: datetime, now: datetime,
              late_after: timedelta) -> bool:
    return status is TaskStatus.PENDING and now - last_sent_at >= late_after


def is_late(status: TaskStatus, first_sent_at: datetime | None, answered: bool,
            now: datetime, late_after: timedelta) -> bool:
    """A task is late once it waited ``late_after`` without an answer (it stays shown as
    late while retries go out)."""
    return (status is TaskStatus.PENDING and not answered and first_sent_at is not None
            and now - first_sent_at >= late_after)


def check_report(payload: Mapping[str, Any], source: str) -> tuple[str, bool, int, str | None]:
    """``(request_id, found, records_affected, error)`` of a service's report; a report
    for another service than its sender is refused."""
    if payload.get("service") != source:
        raise RuleError("A service reports its own task only", "wrong_service")
    found, count = payload.get("found"), payload.get("records_affected", 0)
    if not isinstance(found, bool) or not isinstance(count, int) or isinstance(count, bool) \
            or count < 0:
        raise RuleError("found (bool) and records_affected (int >= 0) are required",
                        "invalid_report")
    error = payload.get("error")
    return str(payload.get("request_id")), found, count, str(error) if error else None
