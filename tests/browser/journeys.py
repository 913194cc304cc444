"""The journeys, clicking and typing as a person would (run by ``driver``, one process each).

Each takes ``(page, base_url, data)``: ``data`` is what the test set up through the API
(``test_office_journey.office``), as JSON.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.browser.browsing import browser_step, shot

XSS_NAME = "<script>alert(1)</script>"


def login(page: Any, email: str, password: str) -> None:
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit].primary")


def distributor(page: Any, base_url: str, data: dict[str, Any]) -> None:
    plan_card = f"#plan-{data['plan_id']}"
    with browser_step(page, "the dashboard asks for a login, in French"):
        page.goto(f"{base_url}/web/")
        assert "/web/login" in page.url
        assert page.locator("html").get_attribute("lang") == "fr"
        shot(page, "login")
        login(page, data["member_email"], data["member_password"])

    with browser_step(page, "the terms gate: the new version, accepted with one click"):
        page.wait_for_url("**/web/terms**")
        assert "Article 1." in page.inner_text(".terms")
        shot(page, "terms")
        page.click("#accept-terms")

    with browser_step(page, "the dashboard: announcement, the plan running, today's quota"):
        page.wait_for_url(f"{base_url}/web/")
        assert "Conditions acceptées." in page.inner_text(".flash")
        assert data["announcement"] in page.inner_text(".announcement")
        assert "0 / 3" in page.inner_text(plan_card)
        shot(page, "dashboard")

    with browser_step(page, "Take: today's leads"):
        page.click(f"{plan_card} button.take")
        page.wait_for_selector(".flash")
        assert "3 contacts pris." in page.inner_text(".flash")
        assert "3 / 3" in page.inner_text(plan_card)

    with browser_step(page, "the office list shows the bought leads (they arrive asynchronously)"):
        page.click("nav >> text=Bureau")
        deadline = time.monotonic() + 20
        while page.locator("a.lead-link", has_text="Peeters").count() < 3:
            assert time.monotonic() < deadline, page.inner_text("main")
            time.sleep(0.3)
            page.reload()
        shot(page, "office")

    with browser_step(page, "on a phone: the office list fits the screen's width"):
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px screen"
        shot(page, "office-phone")
        page.set_viewport_size({"width": 1024, "height": 768})

    with browser_step(page, "the status filter and the search"):
        page.select_option("#status", "new")
        page.click("form.filters button")
        page.wait_for_url("**status=new**")
        assert page.locator("a.lead-link", has_text="Peeters").count() == 3
        page.fill("#q", "Bruxelles")
        page.click("form.filters button")
        page.wait_for_url("**q=Bruxelles**")
        assert page.locator("a.lead-link").count() == 3
        page.fill("#q", "nulle-part@exemple.fr")
        page.click("form.filters button")
        page.wait_for_url("**nulle-part**")
        assert "Aucun contact ne correspond." in page.inner_text("main")
        page.goto(f"{base_url}/web/office")

    with browser_step(page, "a lead's page: status changed with a note, seen in the history"):
        page.locator("a.lead-link", has_text="Peeters").first.click()
        page.wait_for_url("**/web/office/leads/**")
        assert page.inner_text("#current-status") == "new"
        page.select_option("#new-status", "contacted")
        page.fill("#status-note", "Rappeler mardi, intéressée")
        page.click("#change-status")
        page.wait_for_selector(".flash")
        assert "Statut modifié." in page.inner_text(".flash")
        assert page.inner_text("#current-status") == "contacted"
        history = page.inner_text("table.history")
        assert "status" in history and "new" in history and "contacted" in history, history
        assert "Rappeler mardi, intéressée" in page.inner_text("ul.notes")
        shot(page, "lead")

    with browser_step(page, "an empty note is refused beside its field"):
        page.click("text=Ajouter la note")
        page.wait_for_selector("#note-error")

    with browser_step(page, "Mon compte: profile, privacy switch"):
        page.click("nav >> text=Mon compte")
        page.fill("#phone", "+32 470 12 34 56")
        page.click("section[aria-labelledby=profile-title] button")
        page.wait_for_selector(".flash")
        assert "Profil enregistré." in page.inner_text(".flash")
        was = page.is_checked("#admin_access")
        page.set_checked("#admin_access", not was)
        page.click("section[aria-labelledby=privacy-title] button")
        page.wait_for_selector(".flash")
        assert "Réglage de confidentialité enregistré." in page.inner_text(".flash")
        assert page.is_checked("#admin_access") is (not was)
        shot(page, "account")

    with browser_step(page, "English on request, and back"):
        page.click("button[name=lang][value=en]")
        page.wait_for_selector("html[lang=en]")
        assert "Password" in page.inner_text("main")
        page.click("button[name=lang][value=fr]")
        page.wait_for_selector("html[lang=fr]")

    with browser_step(page, "logout: the session is revoked"):
        page.click("#logout")
        page.wait_for_url("**/web/login**")
        page.goto(f"{base_url}/web/office")
        assert "/web/login" in page.url


def csrf(page: Any, base_url: str, data: dict[str, Any]) -> None:
    lead = data["xss_lead"]
    with browser_step(page, "log in on the way to a lead"):
        page.goto(f"{base_url}/web/office/leads/{lead}")
        login(page, data["member_email"], data["member_password"])
        page.wait_for_url(f"**/web/office/leads/{lead}")
    with browser_step(page, "the pages carry a strict CSP"):
        response = page.request.get(f"{base_url}/web/office/leads/{lead}")
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp, csp
        assert "unsafe-inline" not in csp, csp
        assert response.headers["x-frame-options"] == "DENY"
    with browser_step(page, "a POST without its CSRF token is a readable 403"):
        response = page.request.post(f"{base_url}/web/office/leads/{lead}/notes",
                                     form={"text": "forged"})
        assert response.status == 403, response.status
        assert "Ce formulaire a expiré ou ne vient pas de ce site." in response.text()
        response = page.request.post(f"{base_url}/web/office/leads/{lead}/notes",
                                     form={"text": "forged", "csrf": "guessed"})
        assert response.status == 403, response.status
    with browser_step(page, "a form posted from another origin is refused"):
        token = page.locator("input[name=csrf]").first.get_attribute("value")
        response = page.request.post(f"{base_url}/web/office/leads/{lead}/notes",
                                     form={"text": "forged", "csrf": token},
                                     headers={"Origin": "https://evil.example"})
        assert response.status == 403, response.status
    with browser_step(page, "the same form with its token is accepted"):
        page.fill("#note-text", "vraie note")
        page.click("text=Ajouter la note")
        page.wait_for_selector(".flash")
        assert "vraie note" in page.inner_text("ul.notes")


def script_as_text(page: Any, base_url: str, data: dict[str, Any]) -> None:
    lead = data["xss_lead"]
    with browser_step(page, "log in on the way to the lead"):
        page.goto(f"{base_url}/web/office/leads/{lead}")
        login(page, data["member_email"], data["member_password"])
        page.wait_for_url(f"**/web/office/leads/{lead}")
    with browser_step(page, "the name shows as typed, and no script runs"):
        assert page.inner_text("h1.lead-name") == f"{XSS_NAME} Test"
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.content()
        assert page.locator("main script").count() == 0
        page.goto(f"{base_url}/web/office")
        assert page.locator("a.lead-link", has_text=XSS_NAME).count() == 1


def not_yours(page: Any, base_url: str, data: dict[str, Any]) -> None:
    lead = data["xss_lead"]
    with browser_step(page, "a 401 goes to the login page, and back to the wanted page"):
        page.goto(f"{base_url}/web/office/leads/{lead}")
        assert "/web/login" in page.url and "next=" in page.url
        login(page, data["admin_email"], data["admin_password"])
    with browser_step(page, "the member's lead is not the admin's: a 404 page"):
        page.wait_for_url(f"**/web/office/leads/{lead}")
        assert "Page introuvable" in page.inner_text("h1")
        assert XSS_NAME not in page.content()
        assert page.request.get(f"{base_url}/web/office/leads/{lead}").status == 404
        page.goto(f"{base_url}/web/nothing-here")
        assert "Page introuvable" in page.inner_text("h1")


def admin(page: Any, base_url: str, data: dict[str, Any]) -> None:
    invitee = data["invitee_email"]
    with browser_step(page, "the admin logs in and keeps the dashboard, with a link to the administration"):
        page.goto(f"{base_url}/web/")
        login(page, data["admin_email"], data["admin_password"])
        page.wait_for_url(f"{base_url}/web/")
        page.click("#admin-link")
        page.wait_for_url(f"{base_url}/web/admin")
        assert page.locator("nav.subnav a").count() >= 5
        shot(page, "admin-members")

    with browser_step(page, "invite a member with the keyboard alone"):
        page.focus("#invite-form #email")
        page.keyboard.type(invitee)
        page.keyboard.press("Tab")
        page.keyboard.type("Chloé")
        page.keyboard.press("Tab")
        page.keyboard.type("Petit")
        page.keyboard.press("Enter")
        page.wait_for_selector(".flash")
        assert "Invitation envoyée." in page.inner_text(".flash")
        assert invitee in page.inner_text("main")

    with browser_step(page, "a wrong address is refused beside its field"):
        page.fill("#invite-form #email", "pas-une-adresse")
        page.fill("#invite-form #first_name", "A")
        page.fill("#invite-form #last_name", "B")
        page.evaluate("() => document.querySelector('#invite-form #email').type = 'text'")
        page.click("#invite-form button[type=submit]")
        page.wait_for_selector("#invite-form .field-error")

    with browser_step(page, "the plans page: the price follows the typing"):
        page.click("nav >> text=Forfaits")
        page.wait_for_url(f"{base_url}/web/plans")
        page.fill("#records", "60")
        page.wait_for_selector("#quote-total")
        assert page.inner_text("#quote-total") == data["quote_total"]
        assert page.inner_text("#quote-daily") == str(data["quote_daily"])
        shot(page, "plans")
        page.click("#quote-form button[type=submit]")
        page.wait_for_selector("#buy-form")
        page.select_option("#payment_method", "transfer")
        page.click("#buy-form button[type=submit]")
        page.wait_for_selector("#cancel-form")
        assert page.inner_text("#plan-status") == "pending_payment"
        shot(page, "plan")
        page.click("#cancel-form button")
        page.wait_for_selector(".flash")
        assert page.inner_text("#plan-status") == "cancelled"


JOURNEYS: dict[str, Callable[[Any, str, dict[str, Any]], None]] = {
    "distributor": distributor, "csrf": csrf, "script_as_text": script_as_text,
    "not_yours": not_yours, "admin": admin}

# journeys of their own modules, registered here (``driver`` runs any of JOURNEYS); imported
# last, as they use the helpers above
from tests.browser import journeys_site  # noqa: E402
from tests.browser.journeys_lead import lead  # noqa: E402
from tests.browser.journeys_plans import PLANS_JOURNEYS  # noqa: E402
from tests.browser.journeys_staff import STAFF_JOURNEYS  # noqa: E402

JOURNEYS.update(PLANS_JOURNEYS)
JOURNEYS.update(STAFF_JOURNEYS)
JOURNEYS.update(journeys_site.JOURNEYS)
JOURNEYS["lead"] = lead
from tests.browser.journeys_account import account  # noqa: E402

JOURNEYS["account"] = account
