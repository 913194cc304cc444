"""What the browser journeys share: Debian's Chromium, named steps, screenshots.

``shot(page, name)`` saves a screenshot of a main page under ``var/screenshots/``; a failed
``browser_step`` saves a screenshot and the page's HTML there (``FAILED-<step>.png/.html``).
No pytest and no eventlet here: the journeys run in a plain process (``driver``).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"


class StepFailed(AssertionError):
    pass


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:80] or "page"


def save_failure(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    stem = SCREENSHOTS / f"FAILED-{_slug(name)}"
    try:
        page.screenshot(path=str(stem.with_suffix(".png")), full_page=True)
        stem.with_suffix(".html").write_text(page.content())
    except Exception as exc:  # the page may be gone; the step's own failure matters more
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
    except StepFailed:
        raise
    except Exception as failure:
        save_failure(page, rule)
        raise StepFailed(f"step «{rule}» failed: {failure!r} (at {page.url}; "
                         f"var/screenshots/FAILED-{_slug(rule)}.png)") from failure


def launch(pw: Any) -> Any:
    # root in a container: Chromium's sandbox needs user namespaces it does not get
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-dev-shm-usage"])
