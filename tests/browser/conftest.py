"""Browser fixtures: the end-to-end platform, and ``journey(name, data)`` that drives
Debian's Chromium through one journey of ``journeys.py``.

The platform is the one the end-to-end suite uses (``tests/conftest.platform``): one per
test process, so the browser journeys cost no platform start of their own.
Chromium is ``/usr/bin/chromium`` (``make browser`` installs Debian's package); Playwright
never downloads a browser. Each journey runs in a plain Python process (``driver``: this
one is eventlet-patched, and Playwright's sync API stalls under eventlet).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.browsing import CHROMIUM, ROOT

JOURNEY_TIMEOUT = 240


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def journey(chromium: str, base_url: str) -> Callable[[str, dict[str, Any]], None]:
    def run(name: str, data: dict[str, Any]) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        try:
            done = subprocess.run(
                [sys.executable, "-m", "tests.browser.driver", name, base_url, json.dumps(data)],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=JOURNEY_TIMEOUT)
        except subprocess.TimeoutExpired as late:
            raise AssertionError(f"journey {name} took over {JOURNEY_TIMEOUT} s:\n"
                                 f"{(late.stdout or '')[-3000:]}") from None
        if done.returncode != 0:
            raise AssertionError(f"journey {name} failed:\n{done.stdout[-4000:]}\n"
                                 f"{done.stderr[-2000:]}")
    return run
