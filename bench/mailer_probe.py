"""``nameko run`` with counters, for the mailer benchmarks: what one email costs in SQL.

``python -m bench.mailer_probe <file> run --config ... mailer.service:MailerService`` runs
the service exactly as ``python -m nameko run ...`` would, after hooking SQLAlchemy's
``Engine`` events (every engine, created later included) to count statements (by first
keyword), transactions begun and committed. Every second the counts are written to
``<file>`` (JSON, replaced atomically), so a benchmark can divide them by the emails of
its window. Each hook is one Python call per statement: microseconds against the
milliseconds an email costs.

``BENCH_MAILER_PROFILE=<file>`` also runs the whole process under ``cProfile`` and writes
its stats to ``<file>`` every ``BENCH_MAILER_PROFILE_EVERY`` seconds (10): where the
mailer's CPU goes (``python -m pstats <file>``). It slows the mailer down: not for the
figures.
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()  # as nameko run does, before anything else is imported

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

import suivi_common  # noqa: E402, F401  (green psycopg first, as every service does)

COUNTS: Counter[str] = Counter()
#: wall-clock milliseconds spent waiting, summed over every green thread (``wall:*``):
#: where a worker's time goes when the process is not the one using the CPU
WALL: Counter[str] = Counter()
_STARTED = "bench.probe.started"


@event.listens_for(Engine, "before_cursor_execute")
def _statement(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
    COUNTS["statements"] += 1
    COUNTS["sql:" + (statement.lstrip().split(None, 1) or ["?"])[0].upper()] += 1
    if getattr(context, "compiled", None) is not None and \
            getattr(context, "cache_hit", None) is not getattr(context.dialect, "CACHE_HIT", 0):
        # compiled again for this execution (SQLAlchemy's cache missed, or cannot key it):
        # a millisecond of CPU for a large statement
        COUNTS["compiled"] += 1
        COUNTS["compiled:" + " ".join(statement.split()[:3])[:60]] += 1
    conn.info[_STARTED] = (time.perf_counter(), " ".join(statement.split()[:3])[:40])


@event.listens_for(Engine, "after_cursor_execute")
def _statement_done(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                    executemany: bool) -> None:
    started = conn.info.pop(_STARTED, None)
    if started is not None:
        took = (time.perf_counter() - started[0]) * 1000
        WALL["wall:sql_ms"] += took
        WALL[f"wall:sql_ms:{started[1]}"] += took


def _timed(owner: Any, name: str, key: str) -> None:
    """Sum the wall time of ``owner.name`` calls under ``wall:<key>_ms``."""
    original = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            WALL[f"wall:{key}_ms"] += (time.perf_counter() - started) * 1000
            COUNTS[f"calls:{key}"] += 1
    setattr(owner, name, timed)


def _hook_waits() -> None:
    import smtplib

    _timed(smtplib.SMTP, "connect", "smtp_connect")
    _timed(smtplib.SMTP, "sendmail", "smtp_sendmail")
    _timed(smtplib.SMTP, "quit", "smtp_quit")
    import psycopg
    _timed(psycopg.Connection, "commit", "db_commit")
    from suivi_common.rpc import RpcMethod
    _timed(RpcMethod, "__call__", "rpc")


@event.listens_for(Engine, "begin")
def _begin(conn: Any) -> None:
    COUNTS["transactions"] += 1


@event.listens_for(Engine, "commit")
def _commit(conn: Any) -> None:
    COUNTS["commits"] += 1


def _dump(path: Path) -> None:
    while True:
        eventlet.sleep(1.0)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**COUNTS, **{k: round(v) for k, v in WALL.items()}}))
        os.replace(tmp, path)


def _profile(path: Path, every: float) -> None:
    import cProfile

    profiler = cProfile.Profile(time.process_time)  # CPU, not the wall clock of a busy machine
    profiler.enable()
    while True:
        eventlet.sleep(every)
        profiler.disable()
        profiler.dump_stats(str(path.with_suffix(".tmp")))
        os.replace(path.with_suffix(".tmp"), path)
        profiler.enable()


def main() -> None:
    path = Path(sys.argv[1])
    sys.argv = ["nameko", *sys.argv[2:]]
    _hook_waits()
    eventlet.spawn(_dump, path)
    if os.environ.get("BENCH_MAILER_PROFILE"):
        eventlet.spawn(_profile, Path(os.environ["BENCH_MAILER_PROFILE"]),
                       float(os.environ.get("BENCH_MAILER_PROFILE_EVERY", "10")))
    import nameko.cli

    nameko.cli.cli()


if __name__ == "__main__":
    main()
