"""The two office kinds (issue 13 §1, terms art. 3): a ``distribution`` office sells
products to customers, a ``construction`` office builds a network (recruits people for a
home business). Leads, capture sites, plans and subscriptions each name one; a
subscription may cover ``both``.

Everything sold before kinds existed was construction, so a missing kind (an old event,
an old client's JSON) means ``construction``: ``kind_of`` reads it that way."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from suivi_common.errors import Invalid

DISTRIBUTION, CONSTRUCTION, BOTH = "distribution", "construction", "both"
KINDS = (DISTRIBUTION, CONSTRUCTION)
#: what a subscription may cover
COVERAGES = (DISTRIBUTION, CONSTRUCTION, BOTH)
DEFAULT_KIND = CONSTRUCTION


def kind_of(payload: Mapping[str, Any] | None, name: str = "kind") -> str:
    """The kind a message or row names; absent or None: ``construction`` (older senders)."""
    value = (payload or {}).get(name)
    return DEFAULT_KIND if value is None else str(value)


def parse_kind(value: Any, field: str = "kind", default: str | None = DEFAULT_KIND) -> str:
    """A client's kind: None is ``default`` (when given), anything else must be a kind."""
    if value is None and default is not None:
        return default
    if value not in KINDS:
        raise Invalid(f"{field} must be distribution or construction",
                      fields={field: "distribution or construction"}, code="kind_unknown")
    return str(value)


def parse_coverage(value: Any, field: str = "kind", default: str | None = DEFAULT_KIND) -> str:
    """What a subscription covers: a kind or ``both``."""
    if value is None and default is not None:
        return default
    if value not in COVERAGES:
        raise Invalid(f"{field} must be distribution, construction or both",
                      fields={field: "distribution, construction or both"}, code="kind_unknown")
    return str(value)


def covers(coverage: str | None, kind: str) -> bool:
    """Does a subscription of ``coverage`` (None: older rows, construction) cover ``kind``?"""
    coverage = coverage or DEFAULT_KIND
    return coverage == BOTH or coverage == kind
