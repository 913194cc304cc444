"""When an email to a lead that the SMTP server (or Gmail) did not take is tried again.

The queue lives in the database: a failed attempt puts the row back to ``scheduled`` with
the next ``due_at`` (on the platform clock), and the mailer's timer releases it. A refusal
the server calls permanent (5xx), or the last attempt, makes it ``failed``: it shows so in
the lead's history, and nothing is silently dropped.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

DEFAULT_DELAYS_SECONDS = (60, 300, 1800, 7200)


def delays(raw: Any) -> list[float]:
    if raw is None:
        return list(DEFAULT_DELAYS_SECONDS)
    if isinstance(raw, str):
        raw = json.loads(raw)
    return [float(d) for d in raw]


def next_attempt(attempts_done: int, now: datetime, schedule: list[float],
                 permanent: bool = False) -> datetime | None:
    """When to try again after ``attempts_done`` failed attempts, or None: give up."""
    if permanent or attempts_done > len(schedule):
        return None
    return now + timedelta(seconds=schedule[attempts_done - 1])
