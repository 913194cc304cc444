"""Compliance's notices to controllers, as the mailer reads them (plain Python).

* ``breach_notice_requested`` (one per controller and stage) and
  ``subprocessor_change_announced`` (one per change, for every controller) carry the
  French email ready to send (``subject``, ``text``); ``parse_breach`` and
  ``parse_change`` check what the mailer needs of them and refuse the rest with
  ``InvalidPayload`` (retried, then a dead letter staff can inspect).
* ``recipient_key`` names one notice to one controller, whatever event asked for it: the
  same breach stage requested twice, or a change announced twice, is one email. It keys
  the recipient's row and its email's ledger row (and so its ``Message-ID``).
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mailer.domain.messages import InvalidPayload

BREACH = "breach_notice"
SUBPROCESSOR = "subprocessor_notice"
PENDING, SENT, FAILED = "pending", "sent", "failed"
NO_USER, NO_ADDRESS, SEND_FAILED = "no_user", "no_address", "send_failed"
MAX_SUBJECT = 500
MAX_TEXT = 100_000
MAX_ID = 64
#: Namespace of the recipient keys (uuid5): fixed, so a key never changes across releases.
_NAMESPACE = uuid.UUID("8d0e5a6c-2f61-4c1e-9a53-6f0b7c3d9e21")


def recipient_key(kind: str, ref_id: str, user_id: str, stage: int = 0) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{kind}\x1f{ref_id}\x1f{user_id}\x1f{stage}")


@dataclass(frozen=True)
class Wording:
    subject: str
    text: str


@dataclass(frozen=True)
class BreachNotice:
    breach_id: str
    user_id: str
    stage: int
    wording: Wording | None  # None: the event carries no usable email (reported failed)

    @property
    def key(self) -> uuid.UUID:
        return recipient_key(BREACH, self.breach_id, self.user_id, self.stage)

    def report(self, status: str) -> dict[str, Any]:
        """``breach_notice_sent``'s payload."""
        return {"breach_id": self.breach_id, "user_id": self.user_id, "stage": self.stage,
                "status": status}


@dataclass(frozen=True)
class Change:
    change_id: str
    wording: Wording


def _id(payload: Mapping[str, Any], key: str, what: str) -> str:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip() \
            or len(str(value)) > MAX_ID or not str(value).isprintable():
        raise InvalidPayload(f"{what}: the event has no valid {key}")
    return str(value).strip()


def wording(payload: Mapping[str, Any]) -> Wording | None:
    """The email's subject and text, or None when either is missing or unusable."""
    subject, text = payload.get("subject"), payload.get("text")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > MAX_SUBJECT:
        return None
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        return None
    return Wording(subject.strip(), text)


def parse_breach(payload: Any) -> BreachNotice:
    if not isinstance(payload, Mapping):
        raise InvalidPayload(f"{BREACH}: the event payload is not an object")
    stage = payload.get("stage")
    if isinstance(stage, bool) or not isinstance(stage, int) or stage < 0:
        raise InvalidPayload(f"{BREACH}: the event has no valid stage")
    return BreachNotice(_id(payload, "breach_id", BREACH), _id(payload, "user_id", BREACH),
                        stage, wording(payload))


def parse_change(payload: Any) -> Change:
    if not isinstance(payload, Mapping):
        raise InvalidPayload(f"{SUBPROCESSOR}: the event payload is not an object")
    change_id = _id(payload, "change_id", SUBPROCESSOR)
    found = wording(payload)
    if found is None:
        raise InvalidPayload(f"{SUBPROCESSOR}: the event has no usable subject and text")
    return Change(change_id, found)


@dataclass(frozen=True)
class Controller:
    user_id: str
    network_id: str | None


def controllers(answer: Any) -> list[Controller]:
    """The controllers of ``accounts.register_controllers()``'s answer, each once, in order
    (``{count, items: [{user_id, network_id, name, email}]}``; only the ids are used)."""
    items = answer.get("items") if isinstance(answer, Mapping) else None
    if not isinstance(items, list):
        raise ValueError("register_controllers answered no list of items")
    seen: dict[str, Controller] = {}
    for item in items:
        user_id = item.get("user_id") if isinstance(item, Mapping) else None
        if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > MAX_ID:
            continue
        network_id = item.get("network_id")
        seen.setdefault(user_id.strip(), Controller(
            user_id.strip(), str(network_id) if isinstance(network_id, str) and network_id
            else None))
    return list(seen.values())
