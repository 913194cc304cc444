"""What a personal-data breach reaches in leads (GDPR art. 33-34; annex IV.9): the scope
compliance sends (``leads.breach_scope``, ``breach_subject_notice_requested``) and which
of leads' records it covers.

The rule, per controller (the office's owner):

* a **record** is one office lead (its record: identity, contact, situation, source), one
  note on it (category ``comments``) or one e-mail sent to it (``electronic_exchanges``);
  the breach's categories say which of the three kinds count (none given: all three);
* a record is in scope when its owner is (``users``: the owner's id; ``networks``: the
  lead's network; ``all``), the lead still holds personal data (an erased or deleted lead
  has nothing left to leak), and, when a window is given, the record was created or
  changed in it: a lead by its creation or any entry of its history, a note or an e-mail
  by its date;
* **persons** are the distinct leads with at least one record in scope.

The platform's unsold stock has no controller but the platform itself and is not counted
here (the contract's rows are per controller).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leads.domain.timestamps import parse_aware_datetime
from suivi_common.errors import Invalid

KINDS = ("networks", "users", "all")
MAX_IDS = 10_000
LEAD, NOTE, EMAIL = "lead", "note", "email"
#: breach categories (compliance's ``DATA_CATEGORIES``) -> the kind of record holding them
RECORD_OF_CATEGORY = {
    "identity": LEAD, "email": LEAD, "phone": LEAD, "call_window": LEAD,
    "postal_code": LEAD, "city": LEAD, "country": LEAD, "professional_situation": LEAD,
    "time_available": LEAD, "birth_date": LEAD, "income_goal": LEAD, "source": LEAD,
    "comments": NOTE, "electronic_exchanges": EMAIL,
}


@dataclass(frozen=True)
class BreachScope:
    kind: str
    network_ids: tuple[str, ...]
    user_ids: tuple[str, ...]
    changed_from: datetime | None
    changed_to: datetime | None
    records: frozenset[str]  # LEAD, NOTE, EMAIL


def _ids(value: Any, field: str) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if not isinstance(value, list) or len(value) > MAX_IDS or not all(
            isinstance(v, str) and 0 < len(v) <= 64 for v in value):
        raise Invalid("invalid scope", fields={field: f"a list of at most {MAX_IDS} ids"})
    return tuple(dict.fromkeys(value))


def _instant(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return parse_aware_datetime(str(value))
    except ValueError:
        raise Invalid("invalid scope", fields={field: "an ISO 8601 instant with its offset"}) \
            from None


def parse_scope(raw: Any) -> BreachScope:
    """``{kind, network_ids, user_ids, changed_from, changed_to, data_categories}``."""
    if not isinstance(raw, Mapping):
        raise Invalid("invalid scope", fields={"scope": "an object"})
    kind = raw.get("kind")
    if kind not in KINDS:
        raise Invalid("invalid scope", fields={"kind": "networks, users or all"})
    network_ids = _ids(raw.get("network_ids"), "network_ids")
    user_ids = _ids(raw.get("user_ids"), "user_ids")
    start = _instant(raw.get("changed_from"), "changed_from")
    end = _instant(raw.get("changed_to"), "changed_to")
    if start and end and start > end:
        raise Invalid("invalid scope", fields={"changed_from": "after changed_to"})
    categories = raw.get("data_categories") or []
    if not isinstance(categories, list):
        raise Invalid("invalid scope", fields={"data_categories": "a list"})
    records = frozenset(RECORD_OF_CATEGORY[c] for c in categories if c in RECORD_OF_CATEGORY)
    if not categories:
        records = frozenset((LEAD, NOTE, EMAIL))
    return BreachScope(str(kind), network_ids, user_ids, start, end, records)
