"""The hash chain: canonical bytes, linking, and what verification detects."""
from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from compliance.domain import audit_chain
from compliance.domain.audit_chain import GENESIS, Entry, StoredEntry

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def chain(n: int) -> list[StoredEntry]:
    out: list[StoredEntry] = []
    prev = GENESIS
    for i in range(1, n + 1):
        e = Entry(seq=i, recorded_at=T0 + timedelta(seconds=i), kind="test.kind",
                  actor={"type": "user", "user_id": "u"}, subject={"type": "x", "id": str(i)},
                  details={"n": i, "list": ["a", "é"]}, prev_hash=prev)
        digest = audit_chain.entry_hash(e)
        out.append(StoredEntry(e, digest))
        prev = digest
    return out


def test_canonical_json_ignores_key_order_and_keeps_unicode() -> None:
    assert audit_chain.canonical_json({"b": 1, "a": "é"}) == audit_chain.canonical_json(
        {"a": "é", "b": 1}) == '{"a":"é","b":1}'.encode()


def test_canonical_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        audit_chain.canonical_json({"x": float("nan")})


def test_timestamps_hash_the_same_in_any_zone() -> None:
    paris = T0.astimezone(timezone(timedelta(hours=1)))
    a = Entry(1, T0, "k", {}, {}, {}, GENESIS)
    assert audit_chain.entry_hash(a) == audit_chain.entry_hash(dataclasses.replace(a, recorded_at=paris))


def test_an_intact_chain_verifies() -> None:
    entries = chain(5)
    check = audit_chain.verify(entries, 5, entries[-1].hash)
    assert check.problem is None and check.checked == 5


def test_an_empty_log_verifies_against_the_genesis_head() -> None:
    assert audit_chain.verify([], 0, GENESIS).problem is None


def test_an_edited_entry_is_found() -> None:
    entries = chain(5)
    edited = dataclasses.replace(entries[2].entry, details={"n": 99, "list": ["a", "é"]})
    entries[2] = StoredEntry(edited, entries[2].hash)
    problem = audit_chain.verify(entries, 5, entries[-1].hash).problem
    assert problem is not None and (problem.seq, problem.problem) == (3, "edited")


def test_an_edit_that_recomputes_its_own_hash_breaks_the_next_link() -> None:
    entries = chain(5)
    edited = dataclasses.replace(entries[2].entry, kind="forged")
    entries[2] = StoredEntry(edited, audit_chain.entry_hash(edited))
    problem = audit_chain.verify(entries, 5, entries[-1].hash).problem
    assert problem is not None and (problem.seq, problem.problem) == (4, "broken_link")


def test_a_missing_entry_is_a_gap() -> None:
    entries = chain(5)
    del entries[1]
    problem = audit_chain.verify(entries, 5, entries[-1].hash).problem
    assert problem is not None and (problem.seq, problem.problem) == (2, "gap")


def test_a_cut_tail_is_found_through_the_head() -> None:
    entries = chain(5)
    problem = audit_chain.verify(entries[:3], 5, entries[-1].hash).problem
    assert problem is not None and problem.problem == "tail_missing"


def test_a_head_that_disagrees_is_reported() -> None:
    entries = chain(3)
    problem = audit_chain.verify(entries, 3, "f" * 64).problem
    assert problem is not None and problem.problem == "head_mismatch"


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError):
        audit_chain.iso(datetime(2026, 1, 1))
