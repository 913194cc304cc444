"""The staff and compliance journeys, clicking and typing as a person would (run by
``driver`` through ``journeys.JOURNEYS``, one process each).

Each takes ``(page, base_url, data)``; ``data`` is what ``test_staff_journey`` set up
through the JSON API. Waiting on the platform's background work (a data-subject request's
tasks, a breach's notices) reloads the page until the condition shows, paced by the
browser's own timer and bounded by a deadline.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.browser.browsing import browser_step, shot
from tools.api_client import totp_code

#: how long background work may take to show on a page (seconds)
BACKGROUND_DEADLINE = 60


def sign_in(page: Any, email: str, password: str) -> None:
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit].primary")


def reload_until(page: Any, shows: Callable[[], bool], what: str) -> None:
    """Reload until ``shows()``; the platform finishes the work in the background."""
    deadline = time.monotonic() + BACKGROUND_DEADLINE
    while not shows():
        assert time.monotonic() < deadline, f"{what} never showed: {page.inner_text('main')}"
        page.wait_for_timeout(250)
        page.reload()


def staff(page: Any, base_url: str, data: dict[str, Any]) -> None:
    claim = f"section[aria-labelledby=claim-{data['claim_id']}]"
    with browser_step(page, "staff sign in and land on the payments to validate"):
        page.goto(f"{base_url}/web/")
        sign_in(page, data["staff_email"], data["staff_password"])
        page.wait_for_url(f"{base_url}/web/staff")
        assert page.locator("nav.subnav a").count() >= 8
        selected = page.locator("#status option:checked").inner_text()
        assert selected == "en attente", selected  # a label, not the API's value
        assert page.locator(f"#payment-{data['payment_id']}").count() == 1
        shot(page, "staff-payments")

    with browser_step(page, "validate the transfer payment"):
        page.click(f"#payment-{data['payment_id']} button[type=submit]")
        page.wait_for_selector(".flash")
        assert "Paiement validé." in page.inner_text(".flash")
        assert page.locator(f"#payment-{data['payment_id']}").count() == 0

    with browser_step(page, "the refund claim, with its evidence, decided with the keyboard alone"):
        page.click("nav.subnav >> text=Demandes de remboursement")
        page.wait_for_url(f"{base_url}/web/staff/claims")
        assert page.locator(claim).count() == 1, page.inner_text("main")
        assert page.locator(f"{claim} dl.evidence dt").count() > 0
        shot(page, "staff-claims")
        page.focus(f"#comment-{data['claim_id']}")
        page.keyboard.type("Fiche fantaisiste confirmée")
        page.keyboard.press("Tab")  # the Approve button
        page.keyboard.press("Enter")
        page.wait_for_selector(".flash")
        assert "Décision enregistrée." in page.inner_text(".flash")
        assert page.locator(claim).count() == 0  # no longer pending

    with browser_step(page, "the approved claim under the approved filter"):
        page.select_option("#status", "approved")
        page.click("form.filters button")
        page.wait_for_url("**status=approved**")
        assert "approuvée" in page.inner_text(claim)
        assert "Fiche fantaisiste confirmée" in page.inner_text(claim)

    with browser_step(page, "stock against forecast, drawn as bars; a sales closure"):
        page.click("nav.subnav >> text=Stock et fermetures des ventes")
        page.wait_for_url(f"{base_url}/web/staff/stock")
        assert page.locator("#stock-chart svg g.stock-row[data-country=BE]").count() >= 1
        shot(page, "staff-stock")
        page.fill("#start_date", data["closure_start"])
        page.fill("#end_date", data["closure_end"])
        # a country no other test sells in: the browser and end-to-end suites share a
        # platform, and a closure there would refuse their plans
        page.fill("#countries", "pt")
        page.check("input[name=tiers][value=premium]")
        page.fill("#reason", "Stock insuffisant au Portugal")
        page.click("#closure-form button[type=submit]")
        page.wait_for_selector(".flash")
        assert "Fermeture des ventes déclarée" in page.inner_text(".flash")
        assert "Stock insuffisant au Portugal" in page.inner_text("table.closures")

    with browser_step(page, "a capture site registered, its key shown once, then revoked"):
        page.click("nav.subnav >> text=Sites de collecte")
        page.fill("#site-form #name", "Salon de Liège")
        page.fill("#site-form #url", "https://salon-liege.example")
        page.click("#site-form button[type=submit]")
        page.wait_for_selector("#new-key-value")
        assert page.inner_text("#new-key-value").strip()
        shot(page, "staff-capture-sites")
        row = page.locator("table.sites tr", has_text="Salon de Liège")
        row.locator("button").click()
        page.wait_for_selector(".flash")
        assert "révoquée" in page.inner_text("table.sites tr:has-text('Salon de Liège')")

    with browser_step(page, "an account found by its email, suspended and reactivated"):
        page.click("nav.subnav >> text=Comptes")
        page.fill("#q", data["member_email"].upper())
        page.press("#q", "Enter")
        page.wait_for_selector("table.found-users")
        row = f"#found-{data['member_id']}"
        assert data["member_email"] in page.inner_text(row)
        shot(page, "staff-users")
        page.click(f"{row} button[value=suspend]")
        page.wait_for_selector("#user-result")
        assert "suspendu" in page.inner_text("#user-result")
        page.click(f"{row} button[value=reactivate]")
        page.wait_for_selector("#user-result")
        assert "actif" in page.inner_text("#user-result")

    with browser_step(page, "terms versions: publishing asks for the confirmation first"):
        page.click("nav.subnav >> text=Versions des conditions")
        page.wait_for_url(f"{base_url}/web/staff/terms")
        shot(page, "staff-terms")
        page.fill("#version", data["terms_version"])
        page.fill("#terms-form #text", "Conditions générales\n\nArticle 1. Nouvelle version.")
        page.click("#terms-form button[type=submit]")
        page.wait_for_selector("#confirm-error")
        page.check("#confirm")
        page.click("#terms-form button[type=submit]")
        page.wait_for_selector(".flash")
        first = page.locator("table.terms-versions tbody tr").first.inner_text()
        assert data["terms_version"] in first and "en vigueur" in first, first

    with browser_step(page, "dead letters, across the services"):
        page.click("nav.subnav >> text=Lettres mortes")
        page.wait_for_url(f"{base_url}/web/staff/dead-letters")
        assert page.locator("table.dead-letters, #no-letter").count() == 1
        shot(page, "staff-dead-letters")


def compliance(page: Any, base_url: str, data: dict[str, Any]) -> None:
    with browser_step(page, "compliance sign in with the second factor"):
        page.goto(f"{base_url}/web/compliance")
        sign_in(page, data["email"], data["password"])
        page.wait_for_selector("#code")
        # the enrolment used this period's code: the next one, as an app shows it soon after
        page.fill("#code", totp_code(base_url, data["totp_secret"], steps_ahead=1))
        page.click("button[type=submit].primary")
        page.wait_for_url(f"{base_url}/web/compliance")
        assert page.locator("nav.subnav a").count() >= 5
        shot(page, "compliance-requests")

    with browser_step(page, "register an erasure request and run it"):
        page.select_option("#kind", "erasure")
        page.fill("#register-form #email", data["subject_email"])
        page.fill("#received_at", data["received_at"])
        page.fill("#register-form #note", "Courrier recommandé")
        page.click("#register-form button[type=submit]")
        page.wait_for_url("**/web/compliance/requests/**")
        assert page.inner_text("#request-status") == "received"
        page.click("#process")
        page.wait_for_selector(".flash")
        assert "Demande envoyée aux services." in page.inner_text(".flash")
        reload_until(page, lambda: page.locator("#receipt").count() == 1,
                     "the erasure's receipt")
        assert page.inner_text("#request-status") == "completed"
        shot(page, "compliance-request")

    with browser_step(page, "declare a breach: the countdown and the fan-out's progress"):
        page.click("nav.subnav >> text=Violations")
        page.fill("#nature", "Export envoyé au mauvais destinataire")
        page.fill("#detected_at", data["detected_at"])
        page.check("input[name=data_categories][value=identity]")
        page.check("input[name=data_categories][value=email]")
        page.check("input[name=services][value=leads]")
        page.select_option("#scope_kind", "users")
        page.fill("#scope_ids", data["controller_id"])
        page.fill("#likely_consequences", "Sollicitations indésirables")
        page.fill("#measures_taken", "Destinataire contacté, fichier supprimé")
        page.click("#breach-form button[type=submit]")
        page.wait_for_url("**/web/compliance/breaches/**")
        assert "Violation déclarée" in page.inner_text(".flash")
        assert "72" in page.inner_text("#countdown")
        assert page.locator("progress#deadline-used").count() == 1
        reload_until(page, lambda: "1 / 1 (100 %)" in page.inner_text("main"),
                     "the controller's notice sent")
        shot(page, "compliance-breach")

    with browser_step(page, "announce a sub-processor; the register lists the processing"):
        page.click("nav.subnav >> text=Sous-traitants")
        page.wait_for_url(f"{base_url}/web/compliance/subprocessors")
        page.fill("#change-form #name", "Routeur Courriel SAS")
        page.fill("#change-form #contact", "dpo@routeur.example")
        page.fill("#change-form #activity", "Envoi des courriels")
        page.fill("#change-form #country", "fr")
        page.fill("#contract_start", data["contract_start"])
        page.fill("#effective_from", data["effective_from"])
        page.click("#change-form button[type=submit]")
        page.wait_for_selector(".flash")
        assert "Changement annoncé" in page.inner_text(".flash")
        assert "Routeur Courriel SAS" in page.inner_text("table.changes")
        shot(page, "compliance-subprocessors")
        page.click("nav.subnav >> text=Le registre")
        page.wait_for_url(f"{base_url}/web/compliance/register")
        assert page.locator("table.activities tbody tr").count() > 0
        shot(page, "compliance-register")

    with browser_step(page, "the audit trail, and its chain verified"):
        page.click("nav.subnav >> text=Journal d'audit")
        page.wait_for_url(f"{base_url}/web/compliance/audit")
        assert page.locator("table.audit tbody tr").count() > 0
        page.click("#verify")
        page.wait_for_selector("#verification")
        assert "La chaîne est intacte" in page.inner_text("#verification")
        shot(page, "compliance-audit")


STAFF_JOURNEYS: dict[str, Callable[[Any, str, dict[str, Any]], None]] = {
    "staff": staff, "compliance": compliance}
