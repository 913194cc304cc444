"""What leads asks of the mailer when an office's leads are concerned: the art. 34 email
to one person about a breach, and the leads an office let go (plain Python).

* ``breach_subject_mail_requested {breach_id, user_id, network_id, lead_id, subject, text,
  dpo}`` carries compliance's wording ready to send (the DPO's line is in the text) and
  who to reach, never the address: the mailer asks leads (``breach_subject_contact``).
  ``email_id`` names the one email per ``(breach_id, lead_id)``, whatever event asked for
  it: it is the id of its row in the lead's email history, so a redelivered or repeated
  event is one email.
* The opposition list does not apply to that email (``opposable``): the law requires it
  (art. 34); it is not the owner's prospecting the person objected to.
* ``office_leads_erased {user_id, network_id, lead_ids, reason, erased_at}``: the ids of
  the leads whose history goes (``erased_lead_ids``); ``reason`` (``owner``,
  ``retention``) changes nothing here, and no one is told.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mailer.domain.compliance_notices import Wording, wording
from mailer.domain.messages import InvalidPayload

KIND = "breach_subject_mail"
#: ``lead_emails.origin`` of the notice.
ORIGIN = "breach"
#: ``lead_emails.cancel_reason`` of a notice not sent: leads knows no such person any more
#: (the lead was erased or emptied meanwhile), or the mailer already erased the lead.
SUBJECT_GONE = "subject_gone"
#: ... or its address is not one an email can go to.
NO_ADDRESS = "no_address"
MAX_ID = 64
#: Namespace of the notices' email ids (uuid5): fixed, so an id never changes across releases.
_NAMESPACE = uuid.UUID("3f7c1a52-9e0b-4d6a-8b21-5c4e7d9a0f13")


def email_id(breach_id: str, lead_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{breach_id}\x1f{lead_id}")


def opposable(origin: str | None) -> bool:
    """Whether the opposition list stops an email of this origin."""
    return origin != ORIGIN


@dataclass(frozen=True)
class SubjectMail:
    breach_id: str
    user_id: str
    network_id: str | None
    lead_id: uuid.UUID
    wording: Wording

    @property
    def email_id(self) -> uuid.UUID:
        return email_id(self.breach_id, self.lead_id)


def _id(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID \
            or not value.isprintable():
        raise InvalidPayload(f"{KIND}: the event has no valid {key}")
    return value.strip()


def parse_mail(payload: Any) -> SubjectMail:
    """The notice, or ``InvalidPayload`` (retried, then a dead letter staff can inspect)."""
    if not isinstance(payload, Mapping):
        raise InvalidPayload(f"{KIND}: the event payload is not an object")
    try:
        lead_id = uuid.UUID(_id(payload, "lead_id"))
    except ValueError:
        raise InvalidPayload(f"{KIND}: the event has no valid lead_id") from None
    found = wording(payload)
    if found is None:
        raise InvalidPayload(f"{KIND}: the event has no usable subject and text")
    network_id = payload.get("network_id")
    return SubjectMail(_id(payload, "breach_id"), _id(payload, "user_id"),
                       network_id if isinstance(network_id, str) and network_id else None,
                       lead_id, found)


def erased_lead_ids(payload: Any) -> list[uuid.UUID]:
    """The well-formed lead ids of ``office_leads_erased``, each once, sorted (the order
    their rows are locked in); a malformed id names nothing and is skipped."""
    raw = payload.get("lead_ids") if isinstance(payload, Mapping) else None
    ids: set[uuid.UUID] = set()
    for value in raw if isinstance(raw, list) else []:
        try:
            ids.add(uuid.UUID(str(value)))
        except ValueError:
            continue
    return sorted(ids)
