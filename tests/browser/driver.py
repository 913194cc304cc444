"""Run one browser journey in a plain Python process:
``python -m tests.browser.driver <journey> <base_url> <json data>``.

Why a process of its own: the test processes are eventlet-patched (pytest.ini), and
Playwright's sync API, an asyncio loop in a greenlet, stalls under eventlet's hub. Here
nothing is patched; the test waits for this process with a timeout and shows its output.
Exit 0: the journey passed; 1: a step failed (its message last, its page saved).
"""
from __future__ import annotations

import json
import sys
import traceback

from playwright.sync_api import sync_playwright

from tests.browser.browsing import StepFailed, add_axe, launch, save_failure
from tests.browser.journeys import JOURNEYS


def main(argv: list[str]) -> int:
    name, base_url, data = argv[0], argv[1], json.loads(argv[2])
    with sync_playwright() as pw:
        browser = launch(pw)
        context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="fr-FR")
        page = context.new_page()
        try:
            add_axe(context)
        except StepFailed as missing:
            print(missing, flush=True)
            return 1
        page.set_default_timeout(15_000)
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        try:
            JOURNEYS[name](page, base_url, data)
            if dialogs:
                raise StepFailed(f"a script ran: dialogs {dialogs}")
        except StepFailed as failure:
            print(failure, flush=True)
            return 1
        except Exception:
            save_failure(page, name)
            print(traceback.format_exc(), flush=True)
            return 1
        finally:
            context.close()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
