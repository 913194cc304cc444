"""Capture rate limits (issue 14 §3): fixed windows of the platform clock.

A window is ``[start, start + seconds)`` with ``start`` a multiple of ``seconds`` since the
Unix epoch, so every instance puts a request in the same window without talking to the
others. A subject over its limit waits until its window ends (``Retry-After``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the window ends, at least 1."""
        return max(1, math.ceil((self.end - now).total_seconds()))


def window_of(now: datetime, seconds: int) -> Window:
    """The window of length ``seconds`` (at least 1) holding ``now``."""
    seconds = max(1, seconds)
    epoch = now.timestamp()
    start = datetime.fromtimestamp(epoch - epoch % seconds, UTC)
    return Window(start, start + timedelta(seconds=seconds))


def over_limit(hits: int, limit: int) -> bool:
    """``hits`` requests counted in the window, this one included; a limit of 0 is off."""
    return limit > 0 and hits > limit
