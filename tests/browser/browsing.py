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
#: installed by ``make browser`` (npm ci, tests/browser/package-lock.json); never at run time
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


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
    """One screenshot of a main page, kept after a passing run; and axe-core's check of
    that page: no serious nor critical violation."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{_slug(name)}.png"), full_page=True)
    check_accessibility(page, name)


def check_accessibility(page: Any, name: str) -> None:
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    blocking = [f"{v['id']} ({v['impact']}): {v['help']} at "
                f"{[n['target'] for n in v['nodes']][:3]}"
                for v in result["violations"] if v.get("impact") in BLOCKING]
    assert not blocking, f"axe-core on {name}: " + "; ".join(blocking)


def add_axe(context: Any) -> None:
    """axe-core in every page of ``context``, as an init script: injected by the browser
    itself, so the pages' CSP (no inline script) stays as it is."""
    if not AXE.exists():
        raise StepFailed(f"{AXE} is missing: run `make browser` (npm ci)")
    context.add_init_script(path=str(AXE))


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
