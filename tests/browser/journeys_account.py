"""A distributor's dashboard reminders and "Mon compte" in the browser
(``test_account_journey``): the dashboard reminds them that the subscription ends and that
leads are stale (its link opens the office list filtered as the monthly email's link
does); Mon compte links Gmail at the fake Google's consent page, enrols a second factor
(the code typed from the key the page shows, the recovery codes shown once), and
terminates the account after its confirmation page, with the keyboard. axe-core checks
every page it screenshots (``shot``).

Registered into ``journeys.JOURNEYS`` as ``account``; run by ``driver`` like the others.
"""
from __future__ import annotations

import time
from typing import Any

import pyotp

from tests.browser.browsing import browser_step, shot


def lead_count(page: Any) -> int:
    return page.locator("a.lead-link").count()


def account(page: Any, base_url: str, data: dict[str, Any]) -> None:
    with browser_step(page, "log in: the dashboard reminds of the subscription's end"):
        page.goto(f"{base_url}/web/")
        page.fill("#email", data["member_email"])
        page.fill("#password", data["member_password"])
        page.click("button[type=submit].primary")
        page.wait_for_url(f"{base_url}/web/")
        reminder = page.inner_text("#reminder-subscription")
        assert data["ends_on"] in reminder, reminder
        stale = page.inner_text("#reminder-stale")
        assert f": {data['stale_count']}." in stale, stale
        shot(page, "dashboard-reminders")

    with browser_step(page, "the stale reminder opens the office list of those leads"):
        link = page.get_attribute("#reminder-stale a", "href")
        page.click("#reminder-stale a")
        page.wait_for_url(f"{base_url}{link}")
        assert lead_count(page) == data["stale_count"], page.inner_text("main")
        query = link.split("?", 1)[1]
        page.goto(f"{base_url}/leads?{query}")  # the monthly email's link: the same list
        page.wait_for_url(f"{base_url}{link}")
        assert lead_count(page) == data["stale_count"]

    with browser_step(page, "Mon compte: link Gmail at the fake Google's consent page"):
        page.click("nav >> text=Mon compte")
        page.wait_for_url(f"{base_url}/web/account")
        assert "n'est pas lié" in page.inner_text("#gmail-status")
        shot(page, "account")
        page.click("#gmail-link")
        page.click("#gmail-continue")
        page.fill("input[name=email]", data["gmail_address"])
        page.click("button[value=allow]")
        page.wait_for_url(f"{base_url}/web/account*")
        assert "Gmail est lié" in page.inner_text(".flash")
        assert data["gmail_address"] in page.inner_text("#gmail-status")

    with browser_step(page, "enrol a second factor with the keyboard; the recovery codes"):
        page.focus("#mfa-start")
        page.keyboard.press("Enter")
        page.wait_for_selector("#mfa-qr")
        secret = page.inner_text("#mfa-secret").replace(" ", "")
        now = time.time() + float(data["clock_offset_seconds"])  # the platform's clock
        page.focus("#mfa-code")
        page.keyboard.type(pyotp.TOTP(secret).at(now))
        page.keyboard.press("Enter")
        page.wait_for_selector("#recovery-codes")
        assert page.locator("#recovery-codes li").count() == 10
        assert "protège votre connexion" in page.inner_text("#mfa-status")
        shot(page, "account-mfa")

    with browser_step(page, "terminate: a confirmation page first, that offers the data"):
        page.click("#terminate-link")
        page.wait_for_url(f"{base_url}/web/account/terminate")
        assert page.get_attribute("#export-xlsx", "href") == "/web/office/export.xlsx"
        shot(page, "terminate")
        page.focus("#confirm")
        page.keyboard.press("Space")
        page.focus("#terminate")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base_url}/web/login")
        assert "Votre compte est résilié" in page.inner_text(".flash")
        shot(page, "terminated")

    with browser_step(page, "the terminated account cannot come back in"):
        page.goto(f"{base_url}/web/account")
        page.wait_for_url(f"{base_url}/web/login?next=**")
        page.fill("#email", data["member_email"])
        page.fill("#password", data["member_password"])
        page.click("button[type=submit].primary")
        page.wait_for_selector("p.error")
        assert "Ce compte est fermé" in page.inner_text("p.error")
