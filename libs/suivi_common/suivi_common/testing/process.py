"""A service run for real (``nameko run`` in a process of its own), for the tests that kill
one mid-stream: SIGKILL takes its whole process group, so nothing it spawned outlives it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Self


class NamekoProcess:
    def __init__(self, config: Path | str, target: str, log_path: Path, cwd: Path,
                 env: Mapping[str, str] | None = None, stop_timeout: float = 15) -> None:
        self.args = [sys.executable, "-m", "nameko", "run", "--config", str(config), target]
        self.env = {**os.environ, "PSYCOPG_WAIT_FUNC": "wait_select", "PYTHONUNBUFFERED": "1",
                    **(env or {})}
        self.log_path = log_path
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(self.args, cwd=self.cwd, env=self.env,
                                     stdout=open(self.log_path, "ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """SIGTERM (nameko stops gracefully), SIGKILL if it has not within the timeout."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.kill()
