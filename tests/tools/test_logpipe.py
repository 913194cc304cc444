"""``make run``'s log files are capped: ``tools.logpipe`` rotates them past a size."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_pipe(path: Path, data: bytes, max_bytes: int, backups: int) -> None:
    proc = subprocess.run([sys.executable, "-m", "tools.logpipe", str(path), "--max-bytes",
                           str(max_bytes), "--backups", str(backups)], input=data, cwd=ROOT,
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_the_log_rotates_past_its_size_and_keeps_the_newest_lines(tmp_path: Path) -> None:
    path = tmp_path / "log" / "gateway.log"
    lines = [f"line {i:05d}\n".encode() for i in range(2000)]  # 22 kB
    run_pipe(path, b"".join(lines), max_bytes=4000, backups=2)
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["gateway.log", "gateway.log.1", "gateway.log.2"]
    assert all(p.stat().st_size <= 4000 for p in path.parent.iterdir())
    kept = b"".join((path.parent / n).read_bytes() for n in reversed(files)).splitlines()
    assert kept[-1] == b"line 01999"
    assert [int(k.split()[1]) for k in kept] == list(range(2000 - len(kept), 2000))  # in order


def test_an_existing_log_is_appended_to_then_rotated(tmp_path: Path) -> None:
    path = tmp_path / "plans-0.log"
    path.write_bytes(b"old\n" * 900)  # 3600 bytes
    run_pipe(path, b"new\n" * 200, max_bytes=4000, backups=0)
    assert path.read_bytes() == b"new\n" * 100  # truncated at 4000 with no backups kept
    assert not list(tmp_path.glob("plans-0.log.*"))
