"""The audit trail's hash chain (annex IV.15): an edit or a gap in the log is detectable.

Each entry's hash is SHA-256 over the canonical JSON of its content and the previous
entry's hash, so changing any stored field, removing an entry or inserting one breaks the
chain from that point on. Canonical JSON: sorted keys, no spaces, UTF-8, timestamps as UTC
ISO strings with microseconds, so the bytes hashed at append are the bytes recomputed at
verification after a round trip through PostgreSQL.

The chain cannot detect its own tail being cut off; the head row (last sequence number
and hash, updated in the same transaction as each append) is what verification compares
the last entry with.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, compact separators, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def iso(instant: datetime) -> str:
    """The hashed form of a timestamp (UTC, microseconds): stable across a round trip."""
    if instant.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Entry:
    """What an audit entry says; ``seq`` and ``prev_hash`` place it in the chain."""

    seq: int
    recorded_at: datetime
    kind: str
    actor: Mapping[str, Any]
    subject: Mapping[str, Any]
    details: Mapping[str, Any]
    prev_hash: str

    def content(self) -> dict[str, Any]:
        return {"seq": self.seq, "recorded_at": iso(self.recorded_at), "kind": self.kind,
                "actor": dict(self.actor), "subject": dict(self.subject),
                "details": dict(self.details), "prev_hash": self.prev_hash}


def entry_hash(entry: Entry) -> str:
    return hashlib.sha256(canonical_json(entry.content())).hexdigest()


@dataclass(frozen=True)
class StoredEntry:
    entry: Entry
    hash: str


@dataclass(frozen=True)
class Problem:
    seq: int
    problem: str  # gap | broken_link | edited | tail_missing | head_mismatch
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "problem": self.problem, "detail": self.detail}


@dataclass
class ChainCheck:
    """Incremental verification: feed entries in sequence order, then ``finish``."""

    expected_seq: int = 1
    previous_hash: str = GENESIS
    checked: int = 0
    problem: Problem | None = None

    def feed(self, stored: StoredEntry) -> bool:
        """Check one entry; False once a problem is found (stop feeding)."""
        if self.problem is not None:
            return False
        e = stored.entry
        if e.seq != self.expected_seq:
            self.problem = Problem(self.expected_seq, "gap",
                                   f"entry {self.expected_seq} is missing (next is {e.seq})")
        elif e.prev_hash != self.previous_hash:
            self.problem = Problem(e.seq, "broken_link",
                                   "the entry does not point at the previous entry's hash")
        elif entry_hash(e) != stored.hash:
            self.problem = Problem(e.seq, "edited", "the entry's content does not match its hash")
        if self.problem is not None:
            return False
        self.expected_seq += 1
        self.previous_hash = stored.hash
        self.checked += 1
        return True

    def finish(self, head_seq: int, head_hash: str) -> Problem | None:
        """Compare the end of the chain with the head the appends maintain."""
        if self.problem is None and (head_seq, head_hash) != (self.expected_seq - 1,
                                                               self.previous_hash):
            if head_seq > self.expected_seq - 1:
                self.problem = Problem(self.expected_seq, "tail_missing",
                                       f"the log ends at {self.expected_seq - 1}, "
                                       f"its head says {head_seq}")
            else:
                self.problem = Problem(head_seq, "head_mismatch",
                                       "the head does not match the last entry")
        return self.problem


def verify(entries: Iterable[StoredEntry], head_seq: int, head_hash: str) -> ChainCheck:
    check = ChainCheck()
    for stored in entries:
        if not check.feed(stored):
            break
    check.finish(head_seq, head_hash)
    return check
