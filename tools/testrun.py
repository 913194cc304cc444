"""`make test`: the whole suite as three pytest processes side by side, one summary line.

Why three processes: the suite spends much of its time waiting (for service processes to
start, for the broker, for PostgreSQL, for ``rabbitmqctl``), so on two cores a third shard
still shortens the run. pytest-xdist would do the sharing, but its execnet channel deadlocks once
eventlet has monkey-patched the worker, which every test process here must do.

Each shard has databases of its own (``SUIVI_TEST_DB_SUFFIX``), a ``var`` directory of its
own (generated test keys) and random broker vhosts, so the shards never see each other's
data. The platform-level suites (end-to-end, fault, production) stay in one shard: each
starts whole platforms, and two at once would crowd PostgreSQL's default 100 connections.

Each shard's output goes to ``var/test-shard-<n>.log`` and is printed whole when the shard
ends (interleaved dots would be unreadable); the last line printed is a pytest-style summary
of both, which `.ci/run` repeats. Extra arguments are passed to both shards; a run with
explicit test paths is a single plain pytest.
"""
from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent

#: Balanced by measured duration (`--durations=0`); every testpath of pytest.ini is in one.
#: The platform-level suites (fault, browser, end-to-end) share one shard: the fault tests'
#: platform goes first, then the browser and end-to-end suites' one (``tests/conftest.py``)
#: lives until the shard ends; two side by side would hold about 100 PostgreSQL connections.
#: The service suites run their services in-process on small pools, so two more shards fit.
SHARDS: tuple[tuple[str, ...], ...] = (
    ("tests/fault", "tests/production", "tests/deploy", "tests/tools", "tests/browser",
     "tests/e2e", "gateway"),
    ("libs", "services/accounts", "services/compliance", "services/plans"),
    ("services/mailer", "services/leads"),
)

SUMMARY = re.compile(r"^=*\s*(?P<body>\d+ (?:passed|failed|errors?|skipped|xfailed|xpassed|"
                     r"deselected|warnings?).*?)(?: in [\d.]+s.*)?\s*=*$")
COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)")


@dataclass
class Shard:
    number: int
    paths: tuple[str, ...]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    out: IO[bytes] | None = None

    def start(self, extra: list[str]) -> None:
        var = ROOT / "var" / f"test-shard-{self.number}"
        var.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ,
                   SUIVI_TEST_DB_SUFFIX=os.environ.get("SUIVI_TEST_DB_SUFFIX", "")
                   + f"_s{self.number}",
                   SUIVI_VAR=str(var), PYTHONUNBUFFERED="1")  # the log grows as it runs
        self.out = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest", *self.paths, *extra], cwd=ROOT, env=env,
            stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)


def summary_counts(text: str) -> Counter[str]:
    """The counts of the last pytest summary line in ``text`` (empty if pytest died)."""
    counts: Counter[str] = Counter()
    for line in reversed(text.splitlines()):
        match = SUMMARY.match(line.strip())
        if match:
            for n, what in COUNT.findall(match["body"]):
                counts[{"error": "errors", "warning": "warnings"}.get(what, what)] += int(n)
            break
    return counts


def combined_line(counts: Counter[str], seconds: float) -> str:
    order = ("failed", "passed", "skipped", "deselected", "xfailed", "xpassed", "warnings",
             "errors")
    body = ", ".join(f"{counts[k]} {k}" for k in order if counts[k]) or "no tests ran"
    minutes, secs = divmod(int(seconds), 60)
    return f"===== {body} in {seconds:.2f}s (0:{minutes:02d}:{secs:02d}) ====="


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    if any(not a.startswith("-") for a in argv):  # explicit paths: one plain pytest
        return subprocess.call([sys.executable, "-m", "pytest", *argv], cwd=ROOT)
    (ROOT / "var").mkdir(exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupt)  # make or CI stopping us stops the shards
    shards = [Shard(i + 1, paths, ROOT / "var" / f"test-shard-{i + 1}.log")
              for i, paths in enumerate(SHARDS)]
    start = time.monotonic()
    for shard in shards:
        shard.start(argv)
    print(f"make test: {len(shards)} shards, logs in var/test-shard-*.log", flush=True)
    counts: Counter[str] = Counter()
    status = 0
    finished: queue.Queue[Shard] = queue.Queue()  # in the order the shards end
    def watch(shard: Shard) -> None:
        assert shard.process is not None
        shard.process.wait()
        finished.put(shard)

    for shard in shards:
        threading.Thread(target=watch, args=(shard,), daemon=True).start()
    try:
        for _ in shards:
            shard = finished.get()
            assert shard.process is not None and shard.out is not None
            code = shard.process.returncode
            shard.out.close()
            text = shard.log.read_text(errors="replace")
            print(f"\n---- shard {shard.number} ({' '.join(shard.paths)}): exit {code}, "
                  f"{time.monotonic() - start:.0f}s", flush=True)
            print(text, flush=True)
            shard_counts = summary_counts(text)
            if not shard_counts:
                counts["errors"] += 1  # a shard that printed no summary did not finish
            counts.update(shard_counts)
            status = status or code or (0 if shard_counts else 1)
    except KeyboardInterrupt:
        status = 130
    finally:
        for shard in shards:
            shard.stop()
    print(combined_line(counts, time.monotonic() - start), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
