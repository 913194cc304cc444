"""The distributor's subscription and plans in the browser (``test_plans_journey``):
subscribe by card through the provider's own page (covering both office kinds), buy a
distribution plan and pay it the same way,
change its tier (and meet the once-a-day refusal), declare a force majeure with its proof,
and read the plan's calendar. axe-core checks each of our pages (``shot``).

Registered into ``journeys.JOURNEYS`` at the end of ``journeys.py``. No sleeps: the pages
waiting for a payment reload themselves (``poll.js``) and the steps wait on selectors.
"""
from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from tests.browser.browsing import browser_step, shot

#: a real 1x1 PNG: the plans service reads the file's own signature
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ"
                       "/pLvAAAAAElFTkSuQmCC")
PAYMENT_WAIT = 30_000


def _login(page: Any, email: str, password: str) -> None:
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit].primary")


def _pay_on_the_providers_page(page: Any, link: str, base_url: str) -> None:
    """The card provider's page (another origin), its Pay link, and the way back."""
    page.click(link)
    page.wait_for_selector("text=Fake card provider")
    assert not page.url.startswith(base_url), page.url
    page.click("text=Pay")
    page.wait_for_url(f"{base_url}/web/payments/return")


def plans(page: Any, base_url: str, data: dict[str, Any]) -> None:
    with browser_step(page, "log in on the way to the subscription page"):
        page.goto(f"{base_url}/web/subscription")
        _login(page, data["member_email"], data["member_password"])
        page.wait_for_url(f"{base_url}/web/subscription")
        assert "Aucun abonnement" in page.inner_text("#subscription-status")
        shot(page, "subscription")

    with browser_step(page, "a period, both office kinds and a card payment, with the keyboard"):
        page.focus("#period-annual")
        page.keyboard.press("Space")
        assert page.is_checked("#period-annual")
        page.focus("#kind-both")
        page.keyboard.press("Space")
        assert page.is_checked("#kind-both")
        page.select_option("#payment_method", "card")
        page.focus("#subscribe-form button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_selector("#pay-card")
        assert "Commande en attente de paiement" in page.inner_text("#awaiting")
        assert "Les deux" in page.inner_text("#awaiting")

    with browser_step(page, "pay on the card provider's page and come back"):
        _pay_on_the_providers_page(page, "#pay-card", base_url)
        shot(page, "payment-return")
        page.click("#to-subscription")
        page.locator("#subscription-status", has_text="active").wait_for(timeout=PAYMENT_WAIT)
        assert page.locator("button.withdraw").count() == 1  # within the 7 days
        assert page.inner_text("#subscription-kind") == "Les deux"
        shot(page, "subscription-active")

    with browser_step(page, "quote and buy a distribution plan by card"):
        page.click("nav >> text=Forfaits")
        page.wait_for_url(f"{base_url}/web/plans")
        page.select_option("#kind", "distribution")
        page.fill("#records", "60")
        page.select_option("#tier", "standard")
        page.select_option("#country", "BE")
        # the live quote (plans.js) names the kind it was asked for
        page.locator("#quote-kind", has_text="Distribution").wait_for()
        page.click("#quote-form button[type=submit]")
        page.wait_for_selector("#buy-form")
        assert page.inner_text("#quote-kind") == "Distribution"
        page.select_option("#payment_method", "card")
        page.click("#buy-form button[type=submit]")
        page.wait_for_selector("#pay a")
        assert page.inner_text("#plan-status") == "pending_payment"
        assert page.inner_text("#plan-kind") == "Distribution"
        assert "Le calendrier commence" in page.inner_text("#calendar")
        plan_url = page.locator("form#cancel-form").get_attribute("action").rsplit("/cancel", 1)[0]

    with browser_step(page, "pay the plan on the provider's page; the plan page sees it active"):
        _pay_on_the_providers_page(page, "#pay a", base_url)
        page.goto(f"{base_url}{plan_url}")
        # the activation is asynchronous: the page asks again by itself and reloads
        page.locator("#plan-status", has_text="active").wait_for(timeout=PAYMENT_WAIT)

    with browser_step(page, "the plan's calendar: 30 delivery days, today marked"):
        assert page.locator("#calendar table.month").count() >= 1
        assert page.locator("#calendar td.delivery").count() == 30
        assert page.locator("#calendar td.today").count() == 1
        shot(page, "plan-calendar")

    with browser_step(page, "change the tier"):
        page.select_option("#new-tier", "premium")
        page.click("#tier-form button[type=submit]")
        page.wait_for_selector(".flash")
        assert "Gamme changée" in page.inner_text(".flash")
        assert "premium" in page.inner_text("h1")

    with browser_step(page, "a second change the same day is refused, and said so"):
        page.select_option("#new-tier", "standard")
        page.click("#tier-form button[type=submit]")
        page.wait_for_selector("#tier_form-error")
        assert "une fois par jour" in page.inner_text("#tier_form-error")
        assert "premium" in page.inner_text("h1")
        shot(page, "plan-tier-refused")

    today = page.get_attribute("#calendar td.today", "data-date")
    with browser_step(page, "a force majeure: a proof of the wrong type is refused beside it"):
        page.goto(f"{base_url}{plan_url}")
        page.check("#kind-force")
        page.fill("#start_date", today)
        page.fill("#end_date", today)
        page.select_option("#reason", "hospitalisation")
        page.fill("#details", "Hospitalisation imprévue")
        page.set_input_files("#proof", files=[{"name": "note.txt", "mimeType": "text/plain",
                                               "buffer": b"pas une preuve"}])
        page.click("#absence-form button[type=submit]")
        page.wait_for_selector("#proof-error")
        assert "PDF, JPEG ou PNG" in page.inner_text("#proof-error")
        assert page.locator("tr.absence").count() == 0  # nothing was recorded

    with browser_step(page, "the force majeure with its PNG proof"):
        page.check("#kind-force")
        page.fill("#start_date", today)
        page.fill("#end_date", today)
        page.select_option("#reason", "hospitalisation")
        page.set_input_files("#proof", files=[{"name": "certificat.png", "mimeType": "image/png",
                                               "buffer": PNG}])
        page.click("#absence-form button[type=submit]")
        page.wait_for_selector(".flash")
        assert "Force majeure déclarée" in page.inner_text(".flash")
        row = page.inner_text("tr.absence")
        assert "image/png" in row and "pending" in row, row
        shot(page, "plan-absence")

    with browser_step(page, "on a phone: the plan page and its calendar fit the screen"):
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px screen"
        assert page.locator("#calendar td.delivery").count() == 30
        shot(page, "plan-phone")
        page.set_viewport_size({"width": 1024, "height": 768})


PLANS_JOURNEYS: dict[str, Callable[[Any, str, dict[str, Any]], None]] = {"plans": plans}
