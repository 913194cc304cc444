"""Browser fixtures: the end-to-end platform, and ``journey(name, data)`` that drives
Debian's Chromium through one journey of ``journeys.py``.

The platform is one end-to-end platform (``tests/e2e/conftest.running_platform``) of
their own, started by the first browser test and stopped right after the last one
(``pytest_runtest_teardown``), before the end-to-end suite starts its own
(``tools/testrun.py`` runs tests/browser first in its shard): two never crowd PostgreSQL.
Why not the end-to-end suite's platform: the journeys move the platform's clock by a
month and close sales, and the end-to-end tests must not inherit that.
Chromium is ``/usr/bin/chromium`` (``make browser`` installs Debian's package); Playwright
never downloads a browser. Each journey runs in a plain Python process (``driver``: this
one is eventlet-patched, and Playwright's sync API stalls under eventlet).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.browser.browsing import CHROMIUM, ROOT
from tests.e2e.conftest import running_platform
from tools.api_client import Mailbox
from tools.platform import Platform

JOURNEY_TIMEOUT = 240
_RUNNING = ExitStack()  # the browser platform, closed after the last browser test


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield _RUNNING.enter_context(
        running_platform(tmp_path_factory.mktemp("browser-platform"), "_browser"))
    _RUNNING.close()


@pytest.fixture(scope="session")
def base_url(platform: Platform) -> str:
    return platform.url


@pytest.fixture(scope="session")
def mailbox(platform: Platform) -> Mailbox:
    return Mailbox(Path(platform.var_dir) / "mail")


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After the last browser test, stop the browser platform at once (not at the end of
    the session), so that it never runs beside the end-to-end suite's."""
    browser_dir = Path(__file__).parent
    if nextitem is None or browser_dir not in Path(nextitem.path).parents:
        _RUNNING.close()


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
