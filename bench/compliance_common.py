"""What the compliance benchmarks (issue 12 §7) share: where PostgreSQL is, the machine's
load, and CPU seconds from ``/proc``.

The cluster is the tests' (``infra.PG_BASE``: ``SUIVI_PG_BASE``, else ``PGPORT``), so a
benchmark lands on the cluster its shell names.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from suivi_common.testing import infra

PG_BASE, PG_PLAIN = infra.PG_BASE, infra.PG_PLAIN
SUFFIX = infra.DB_SUFFIX


def url(db: str) -> str:
    """SQLAlchemy URL of ``db`` (services' ``DATABASE_URL``)."""
    return f"{PG_BASE}/{db}"


def plain(db: str) -> str:
    """psycopg URL of ``db``."""
    return f"{PG_PLAIN}/{db}"


def admin(sql: str) -> None:
    """One statement on the maintenance database (CREATE / DROP DATABASE)."""
    with psycopg.connect(plain("postgres"), autocommit=True) as conn:
        conn.execute(sql)


def drop(db: str) -> None:
    admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def clone(template: str, db: str) -> None:
    """``db`` as an identical copy of ``template`` (file-level copy: no client may be
    connected to the template)."""
    drop(db)
    admin(f'CREATE DATABASE "{db}" TEMPLATE "{template}" STRATEGY = FILE_COPY')


def exists(db: str) -> bool:
    with psycopg.connect(plain("postgres"), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (db,)).fetchone() is not None


def scalar(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> Any:
    """The first column of the first row (None when there is no row)."""
    row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def load() -> float:
    """The 1-minute load average, rounded."""
    return round(os.getloadavg()[0], 2)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def backend_pids(db: str) -> list[int]:
    """PostgreSQL backends connected to ``db`` (to charge their CPU to the run)."""
    with psycopg.connect(plain("postgres"), autocommit=True) as conn:
        return [int(r[0]) for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (db,)).fetchall()]


class CpuMeter:
    """CPU seconds used by groups of processes between ``start`` and ``stop``. Each group is
    a function naming its pids, asked at both ends: a process that appeared in between
    (a backend the pool opened) counts in full, one that ended is lost."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self.before: dict[str, dict[int, float]] = {}

    def _now(self) -> dict[str, dict[int, float]]:
        return {name: {p: cpu_seconds(p) for p in pids()} for name, pids in self.groups.items()}

    def start(self) -> CpuMeter:
        self.before = self._now()
        return self

    def stop(self) -> dict[str, float]:
        after = self._now()
        return {name: round(sum(cpu - self.before.get(name, {}).get(pid, 0.0)
                                for pid, cpu in pids.items()), 2)
                for name, pids in after.items()}


def rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else 0.0


def show(name: str, result: dict[str, Any]) -> None:
    import json

    print(f"  {name}: {json.dumps(result, default=str)}", flush=True)
