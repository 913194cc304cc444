"""Gmail's per-user quota: about 150 sends a minute. Queue and pace; never drop.

A sliding window per user: a send may start when fewer than ``per_minute`` sends started
in the last ``window`` seconds; otherwise the caller waits until the oldest one leaves the
window. Callers for one user queue on a lock and are served in arrival order (eventlet's
locks wake waiters first come, first served), so a burst is spread over the minutes it
needs and none is refused. Users do not wait for each other.

``try_acquire`` is the same without the wait: the email dispatcher uses it and defers an
email whose slot has not come (``channels.Deferred``), so no worker sleeps in the quota.

Time is injected (``now``, ``sleep``) so tests drive a settable clock and never wait.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import eventlet

WINDOW_SECONDS = 60.0


class Pacer:
    def __init__(self, per_minute: int = 150, window: float = WINDOW_SECONDS,
                 now: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = eventlet.sleep) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self.window = window
        self.now = now
        self.sleep = sleep
        self._started: dict[str, deque[float]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, user_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(user_id, threading.Lock())

    def _recent(self, user_id: str, now: float) -> deque[float]:
        started = self._started.setdefault(user_id, deque())
        while started and started[0] <= now - self.window:
            started.popleft()
        return started

    def ready_in(self, user_id: str) -> float:
        """Seconds before a send for this user could start (0: now)."""
        now = self.now()
        started = self._recent(user_id, now)
        if len(started) < self.per_minute:
            return 0.0
        return max(0.0, started[0] + self.window - now)

    def try_acquire(self, user_id: str) -> float:
        """Take this user's next slot if one is free now and answer 0.0; otherwise take
        nothing and answer the seconds until one frees. Never waits: the dispatcher defers
        the email (a not-before time) rather than holding a worker asleep, which at quota
        held every worker and made every other call wait. Between the check and the
        append no green thread can switch, so two callers never take one slot."""
        lock = self._lock(user_id)
        if not lock.acquire(blocking=False):  # a blocking ``acquire`` is waiting its turn
            return max(self.ready_in(user_id), 0.001)
        try:
            now = self.now()
            started = self._recent(user_id, now)
            if len(started) < self.per_minute:
                started.append(now)
                return 0.0
            return max(started[0] + self.window - now, 0.001)
        finally:
            lock.release()

    def acquire(self, user_id: str) -> float:
        """Wait for this user's next slot and take it; returns the instant it was taken.
        Every request to Gmail takes one, retries included (they count against the quota)."""
        with self._lock(user_id):
            while True:
                now = self.now()
                started = self._recent(user_id, now)
                if len(started) < self.per_minute:
                    started.append(now)
                    return now
                self.sleep(max(started[0] + self.window - now, 0.001))
