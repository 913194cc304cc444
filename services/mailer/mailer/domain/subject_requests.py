"""A data-subject request's mailer task (compliance's contract, plain Python).

Compliance emits ``dsr_task_requested {request_id, service, kind, attempt, ...}`` per
holding service; the mailer takes the ones whose ``service`` is ``mailer``, asks
compliance who the person is (``dsr_subject``), and reports ``dsr_task_reported
{request_id, service: "mailer", found, records_affected, data?, error?}`` (the payload
is ``suivi_common.dsr.report``'s; the kinds, plain strings here, are ``dsr.Kind``'s).

What the mailer holds of a person is their email address, only as the recipient of a
user's emails (``lead_emails``: the address, subject and bodies, sealed; an index of the
address per owner) and in the owners' opposition lists (that index alone). No phone
number. The person is found by those per-owner indexes, computed for every owner from the
address compliance gives: nothing is decrypted to search.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mailer.domain import unsubscribe
from suivi_common import dsr

SERVICE = "mailer"
ACCESS, PORTABILITY, ERASURE = "access", "portability", "erasure"
RESTRICTION, OBJECTION, RECTIFICATION = "restriction", "objection", "rectification"
KINDS = frozenset({ACCESS, PORTABILITY, ERASURE, RESTRICTION, OBJECTION, RECTIFICATION})
#: Kinds that change nothing: done again when asked again (their report carries the data,
#: which the mailer does not keep).
READS = frozenset({ACCESS, PORTABILITY})
MAX_ID = dsr.MAX_REQUEST_ID
MAX_ADDRESS = 254
#: ``cancel_reason`` of a waiting email the request stopped.
ERASED, RESTRICTED = "subject_erased", "subject_restricted"


@dataclass(frozen=True)
class Task:
    request_id: str
    kind: str


def parse_task(payload: Any) -> Task | None:
    """The mailer's task, or None: another service's, or no request id to answer to."""
    if not isinstance(payload, Mapping) or payload.get("service") != SERVICE:
        return None
    request_id = payload.get("request_id")
    if not isinstance(request_id, str) or not request_id.strip() or len(request_id) > MAX_ID:
        return None
    return Task(request_id.strip(), str(payload.get("kind") or ""))


def address_of(value: Any) -> str | None:
    """An address as the mailer indexes it (``unsubscribe.normalise_address``), or None."""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_ADDRESS \
            or "@" not in value or not value.strip().isprintable():
        return None
    return unsubscribe.normalise_address(value)


def new_address(changes: Any) -> str | None:
    """A rectification's new email address, as given (stripped), or None if it has none."""
    if not isinstance(changes, Mapping) or changes.get("email") in (None, ""):
        return None
    return str(changes["email"]).strip()

