"""Browser fixtures: Debian's Chromium driven by Playwright, against the end-to-end platform.

The platform is the end-to-end suite's (``tests/e2e/conftest.running_platform``), started
once per module. Chromium is ``/usr/bin/chromium`` (``make browser`` installs Debian's
package): Playwright never downloads a browser of its own.

``shot(page, name)`` saves a screenshot of a main page under ``var/screenshots/``; a failed
``browser_step`` (and any failed test) saves a screenshot and the page's HTML there too.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import running_platform
from tools.api_client import Mailbox
from tools.platform import Platform

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:80] or "page"


def save_failure(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    stem = SCREENSHOTS / f"FAILED-{_slug(name)}"
    try:
        page.screenshot(path=str(stem.with_suffix(".png")), full_page=True)
        stem.with_suffix(".html").write_text(page.content())
    except Exception as exc:  # the page may be gone; the test's own failure matters more
        stem.with_suffix(".txt").write_text(f"could not capture the page: {exc!r}")


def shot(page: Any, name: str) -> None:
    """One screenshot of a main page, kept after a passing run."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{_slug(name)}.png"), full_page=True)


@contextmanager
def browser_step(page: Any, rule: str) -> Iterator[None]:
    """A named step of a journey; its failure saves the page (screenshot and HTML)."""
    try:
        yield
    except Exception as failure:
        save_failure(page, rule)
        raise AssertionError(f"step «{rule}» failed: {failure}") from failure


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The end-to-end platform, for this module only: the browser tests run before the
    end-to-end ones in their shard (tools/testrun.py), and this one is stopped before that
    suite starts its own, so two never hold PostgreSQL's connections at once."""
    with running_platform(tmp_path_factory.mktemp("browser-platform"), "_browser") as p:
        yield p


@pytest.fixture(scope="module")
def base_url(platform: Platform) -> str:
    return platform.url


@pytest.fixture(scope="module")
def mailbox(platform: Platform) -> Mailbox:
    return Mailbox(Path(platform.var_dir) / "mail")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # root in a container: Chromium's sandbox needs user namespaces it does not get
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def browser_page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (no cookies) at a 1024 px wide window; a failed test saves
    its last page."""
    context = chromium.new_context(viewport={"width": 1024, "height": 768}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs  # type: ignore[attr-defined]
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        save_failure(page, request.node.name)
    context.close()
