"""A pool of its own for the mailer's autonomous transactions (``Ctx.autonomous``).

A reliable handler holds its worker's pooled connection from its inbox claim to its end,
the SMTP conversation included. A system email or a notice also writes its ledger in
short transactions of their own (``sending`` before the send, ``sent`` after). Taken
from the worker pool, those need a second connection of that pool while the first is
held: a burst with more busy workers than the pool holds (the platform runs with
``DB_POOL_SIZE=5``, 20 workers) leaves every connection held by a worker waiting for
another one, until the pool's timeout fails them all ("QueuePool limit ... reached").

So a worker takes at most one connection of the worker pool, and the autonomous
transactions come from this small pool. A transaction here never waits on SMTP, on
another service or on another worker (only on PostgreSQL), so a worker waiting for one
of its connections waits only for short transactions to end: no cycle, no deadlock,
whatever the burst. ``MAILER_SIDE_POOL_SIZE`` (5) connections, and up to 5 more at a
peak.
"""
from __future__ import annotations

from typing import Any

from nameko import config
from nameko.extensions import DependencyProvider
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from suivi_common.database import ping_when_idle
from suivi_common.settings import setting

OVERFLOW = 5


class SidePool(DependencyProvider):
    """``self.side_pool``: the engine of the autonomous transactions (see the module)."""

    def __init__(self, url_key: str = "DATABASE_URL") -> None:
        self.url_key = url_key
        self.engine: Engine | None = None

    def setup(self) -> None:
        size = max(1, int(setting("MAILER_SIDE_POOL_SIZE", 5) or 5))
        self.engine = create_engine(config[self.url_key], pool_size=size,
                                    max_overflow=OVERFLOW, pool_recycle=1800)
        ping_when_idle(self.engine, float(setting("DB_PING_IDLE_SECONDS", 10)))

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> Engine | None:
        return self.engine
