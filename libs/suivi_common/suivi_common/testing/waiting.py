"""Waiting in tests: poll a condition until it holds, never sleep a guessed time.

One helper for every suite, because a wait written per test drifts into short timeouts
that a busy 2-core machine misses. The default timeout is generous on purpose: a
correct run returns as soon as the condition holds, so only a broken run waits it out.
"""
from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT = 60.0


def wait_for(predicate: Callable[[], T], timeout: float = DEFAULT_TIMEOUT,
             interval: float = 0.05, what: str = "condition") -> T:
    """Return the first truthy value of ``predicate()``; fail the test after ``timeout``.

    Works in green and plain threads alike: with eventlet's monkey-patching (the test
    plugin applies it) ``time.sleep`` yields to the hub.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:.0f}s (last: {value!r})")
        time.sleep(interval)


#: Each look at the broker starts ``rabbitmqctl`` (an Erlang VM, about half a second of
#: CPU): polled every 50 ms it would itself load a busy machine, so looks are spaced.
BROKER_LOOK_INTERVAL = 0.5
_last_look = [0.0]


def broker_queues(vhost: str) -> dict[str, tuple[int, int]]:
    """Each queue of ``vhost`` with its (ready, unacknowledged) message counts."""
    pause = _last_look[0] + BROKER_LOOK_INTERVAL - time.monotonic()
    if pause > 0:
        time.sleep(pause)
    _last_look[0] = time.monotonic()
    out = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name",
                          "messages_ready", "messages_unacknowledged"],
                         capture_output=True, text=True, check=False).stdout
    queues: dict[str, tuple[int, int]] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            queues[parts[0]] = (int(parts[1]), int(parts[2]))
    return queues


def broker_settled(vhost: str, queue: str | None = None) -> bool:
    """True once ``queue`` (or every queue of ``vhost``) holds no message, ready or
    delivered-but-unacked: everything sent before has been handled and acked.

    This replaces "sleep, then assert nothing more happened": a duplicate or a late
    effect of any earlier message has landed by the time this holds.
    """
    queues = broker_queues(vhost)
    if queue is not None:
        return queues.get(queue) == (0, 0)
    return bool(queues) and all(counts == (0, 0) for counts in queues.values())

