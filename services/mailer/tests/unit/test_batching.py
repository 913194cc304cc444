"""``adapters.batching.GroupCommit``: the notices handled at the same moment go out as one
batch, each member gets its own outcome, and a failing or killed leader never leaves a
member waiting."""
from __future__ import annotations

from typing import Any

import eventlet
import pytest

from mailer.adapters.batching import GroupCommit
from suivi_common.errors import ServiceUnavailable


def _run_all(groups: GroupCommit[int, Any], items: list[int], run: Any) -> list[Any]:
    def one(item: int) -> Any:
        try:
            return groups.submit(item, run)
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            return exc

    threads = [eventlet.spawn(one, item) for item in items]
    return [t.wait() for t in threads]


def test_members_arriving_together_share_one_run_and_each_gets_its_outcome() -> None:
    runs: list[list[int]] = []

    def run(batch: list[int]) -> list[int]:
        runs.append(list(batch))
        return [item * 10 for item in batch]

    groups: GroupCommit[int, int] = GroupCommit(max_size=50, linger=0.05)
    assert _run_all(groups, list(range(8)), run) == [i * 10 for i in range(8)]
    assert runs == [list(range(8))]


def test_a_full_group_closes_and_the_next_member_leads_another() -> None:
    runs: list[list[int]] = []

    def run(batch: list[int]) -> list[int]:
        runs.append(list(batch))
        return batch

    groups: GroupCommit[int, int] = GroupCommit(max_size=3, linger=0.05)
    assert _run_all(groups, list(range(7)), run) == list(range(7))
    assert sorted(len(r) for r in runs) == [1, 3, 3]
    assert sorted(i for r in runs for i in r) == list(range(7))


def test_a_failing_run_fails_every_member_and_the_next_group_starts_afresh() -> None:
    def broken(batch: list[int]) -> list[int]:
        raise RuntimeError("accounts down")

    groups: GroupCommit[int, int] = GroupCommit(max_size=10, linger=0.02)
    outcomes = _run_all(groups, [1, 2, 3], broken)
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert _run_all(groups, [4, 5], lambda batch: batch) == [4, 5]


def test_a_leader_killed_mid_batch_releases_its_members() -> None:
    started = eventlet.event.Event()

    def slow(batch: list[int]) -> list[int]:
        started.send(None)
        eventlet.event.Event().wait()  # a send that never ends, until the leader is killed
        return batch

    groups: GroupCommit[int, int] = GroupCommit(max_size=10, linger=0.02)
    # green threads start in the order they are spawned: the first leads, the second follows
    leader = eventlet.spawn(groups.submit, 1, slow)
    follower = eventlet.spawn(groups.submit, 2, slow)
    started.wait()
    leader.kill()
    with eventlet.Timeout(2), pytest.raises(ServiceUnavailable):
        follower.wait()


def test_a_leader_killed_while_it_waits_for_members_releases_them() -> None:
    groups: GroupCommit[int, int] = GroupCommit(max_size=10, linger=5.0)
    leader = eventlet.spawn(groups.submit, 1, lambda batch: batch)
    follower = eventlet.spawn(groups.submit, 2, lambda batch: batch)
    eventlet.spawn(leader.kill)  # runs third: the leader lingers, the follower has joined
    with eventlet.Timeout(2), pytest.raises(ServiceUnavailable):
        follower.wait()
    groups.linger = 0.0
    assert groups.submit(3, lambda batch: [b * 2 for b in batch]) == 6


def test_one_item_without_linger_runs_at_once() -> None:
    groups: GroupCommit[int, int] = GroupCommit(max_size=1, linger=1.0)
    with eventlet.Timeout(0.5):
        assert groups.submit(7, lambda batch: [b + 1 for b in batch]) == 8
