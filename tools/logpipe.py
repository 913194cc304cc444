"""Copy a process's output into a log file that never grows past a size.

``make run`` (``tools/platform.py``) starts every process with its stdout and stderr going
through one of these, so a long fuzz run or a chatty bug cannot fill the disk: past
``--max-bytes`` the file is rotated (``name.log`` -> ``name.log.1`` -> ... -> ``name.log.N``,
the oldest dropped; ``--backups 0`` truncates instead).

It is a process of its own, not a thread of the runner, so it keeps draining the pipe
whatever the runner does (the tests' runner is an eventlet process). It exits at end of
input, that is when the process it serves has exited, after writing everything.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

CHUNK = 64 * 1024


def rotate(path: Path, backups: int) -> None:
    if backups <= 0:
        path.unlink(missing_ok=True)
        return
    for index in range(backups - 1, 0, -1):
        older = path.with_name(f"{path.name}.{index}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{index + 1}"))
    if path.exists():
        path.replace(path.with_name(f"{path.name}.1"))


def pump(source: int, path: Path, max_bytes: int, backups: int) -> None:
    """Copy ``source`` to ``path`` until end of input; a file never exceeds ``max_bytes``,
    and is cut at a line's end whenever a line fits."""
    out = open(path, "ab", buffering=0)  # noqa: SIM115 (reopened at each rotation)
    size = os.fstat(out.fileno()).st_size
    try:
        while chunk := os.read(source, CHUNK):
            while chunk:
                room = max_bytes - size
                if len(chunk) <= room:
                    out.write(chunk)
                    size += len(chunk)
                    break
                cut = chunk.rfind(b"\n", 0, room) + 1 if room > 0 else 0
                if cut == 0 and size == 0:
                    cut = room  # one line longer than a whole file: split it
                if cut:
                    out.write(chunk[:cut])
                    chunk = chunk[cut:]
                out.close()
                rotate(path, backups)
                out = open(path, "ab", buffering=0)  # noqa: SIM115
                size = 0
    finally:
        out.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--max-bytes", type=int, default=10 * 1024 * 1024)
    parser.add_argument("--backups", type=int, default=2)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the process, then this
    args.path.parent.mkdir(parents=True, exist_ok=True)
    pump(sys.stdin.fileno(), args.path, max(1, args.max_bytes), args.backups)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
