"""Waiting in tests: poll a condition until it holds, never sleep a guessed time.

One helper for every suite, because a wait written per test drifts into short timeouts
that a busy 2-core machine misses. The default timeout is generous on purpose: a
correct run returns as soon as the condition holds, so only a broken run waits it out.
"""
from __future__ import annotations

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
