"""Edit history of a lead: what changed, and who changed it.

The terms (3.B.ii) promise that every edit is traced, because a lead edited by
its owner can no longer be refunded. The diff therefore must not invent edits:
None, "" and whitespace-only strings are all "empty" and compare equal, so a
form that re-submits a blank field untouched records nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ChangeSource(StrEnum):
    USER = "user"  # the distributor who owns the lead
    ADMIN = "admin"  # their network admin, looking into the office
    STAFF = "staff"  # platform operators (support, compliance)
    SYSTEM = "system"  # automations, imports, data-subject request processing


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _same(a: Any, b: Any) -> bool:
    if _empty(a) and _empty(b):
        return True
    return bool(a == b)


def diff_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    """Changed fields, sorted by name. A key missing on one side counts as empty."""
    changes = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if not _same(old, new):
            changes.append(FieldChange(name, None if _empty(old) else old, None if _empty(new) else new))
    return changes
