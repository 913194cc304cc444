"""Data-subject requests as leads sees them (GDPR art. 15-22; annex IV.8): the task
compliance sends, the person's identifiers in the form leads' blind indexes hash, what a
rectification changes in one copy, and the failed report of a task it cannot read (the
reports themselves are ``dsr.report``'s).

Plain Python: no database, no broker. The normalisation is the one capture and the
office apply before hashing (e-mail: email-validator's form, lower case; phones: E.164),
which is also compliance's (``compliance.domain.subject``), so the values compliance gives
(``dsr_subject``) hash to the very digests stored here.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leads.domain.office_records import norm_email
from leads.domain.phones import MOBILE_LIKE, PhoneParseError, parse_phone
from suivi_common import dsr

# the task contract is the library's (suivi_common.dsr); these names stay importable here
from suivi_common.dsr import REPORT_EVENT as REPORT_EVENT
from suivi_common.dsr import TASK_EVENT as TASK_EVENT
from suivi_common.dsr import Kind as Kind
from suivi_common.dsr import Task as Task

SERVICE = "leads"
BadTask = dsr.TaskError
#: Kinds that only read: their report carries ``data``, and a retry reads again.
READING = dsr.DATA_KINDS
MAX_ERROR = 500


#: The fields compliance may rectify, and where each lives in a lead's stored record.
RECTIFIABLE = ("first_name", "last_name", "email", "phone", "postal_code", "city")


def parse_task(payload: Mapping[str, Any]) -> Task | None:
    """The task of ``dsr_task_requested``; None when it is another service's; BadTask
    (``dsr.TaskError``) when it cannot be read."""
    return dsr.task_for(payload, SERVICE)


class Subject(dsr.Subject):
    """The person, normalised as leads hashes its blind indexes (``parse_subject``)."""

    def keys(self) -> list[tuple[str, str]]:
        """(kind, value) pairs, the kinds of ``Vault.blind_index`` (and of ``contacts``)."""
        out = []
        if self.email:
            out.append(("email", self.email))
        if self.phone:
            out.append(("phone", self.phone))
        return out


def _e164(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_phone(value.strip(), "FR").e164  # national numbers read as French
    except PhoneParseError:
        return None


def parse_subject(answer: dsr.Subject) -> Subject:
    """What ``compliance.dsr_subject`` answered (``dsr.subject_of``), normalised; BadTask
    when it names nobody."""
    email = answer.email
    subject = Subject(norm_email(email) if email and email.strip() else None,
                      _e164(answer.phone), dict(answer.changes))
    if subject.email is None and subject.phone is None:
        raise BadTask("the request names no e-mail address or phone number")
    return subject


def edit_of(subject: Subject, current: Mapping[str, Any]) -> dict[str, Any]:
    """The office edit (``office_records.apply_edit`` input) that rectifies one copy.

    Names, postal code and city are set as given. An identifier (``email``, ``phone``)
    replaces the person's old one where the copy holds it, and fills the field where the
    copy has none (a new phone goes to ``mobile`` or ``landline`` by its line type); a
    copy holding a different address or number keeps it: it may be another of the
    person's, found by the other identifier, and nothing says it is wrong.
    """
    edit: dict[str, Any] = {}
    for name, value in subject.changes.items():
        if name not in RECTIFIABLE:
            raise BadTask(f"{name} cannot be rectified")
        if name not in ("email", "phone"):
            edit[name] = value
    if "email" in subject.changes:
        held = current.get("email")
        if not held or norm_email(str(held)) == subject.email:
            edit["email"] = subject.changes["email"]
    if "phone" in subject.changes:
        new = subject.changes["phone"]
        held = [name for name in ("mobile", "landline")
                if subject.phone and _stored_e164(current.get(name)) == subject.phone]
        empty = "mobile" if _is_mobile(new) else "landline"
        if not held and not _stored_e164(current.get(empty)):
            held = [empty]
        edit.update({name: new for name in held})
    return edit


def _stored_e164(value: Any) -> str | None:
    return value.get("e164") if isinstance(value, Mapping) else value


def _is_mobile(value: Any) -> bool:
    try:
        return parse_phone(str(value), "FR").line_type in MOBILE_LIKE
    except PhoneParseError:
        return False


def refusal(payload: Mapping[str, Any], error: str) -> dict[str, Any] | None:
    """The failed report of a task leads cannot read (an unknown kind), if it names a
    request of leads' to answer; None otherwise."""
    request_id = str(payload.get("request_id") or "").strip()
    if payload.get("service") != SERVICE or not request_id or len(request_id) > dsr.MAX_REQUEST_ID:
        return None
    return dsr.report(SERVICE, request_id, False, 0, error=error)
