"""The web office in a real browser: a distributor's journey, the CSRF refusal, a script in a
lead's name shown as text, another user's lead as a 404, and the way back after a login.

Set-up goes through the JSON API (a network, a subscribed member with an active plan, leads
in stock); then staff publish new terms, so the member meets the terms gate in the browser.
Everything after that is clicks and typing, as a person would.
"""
from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.browser.conftest import browser_step, shot
from tests.e2e.scenario import buy_active_plan
from tools.api_client import Api, Mailbox, onboard, subscribe_by_card
from tools.platform import DEV_STAFF

MEMBER_PASSWORD = "Distinct-Violet-Pass-77"
XSS_NAME = "<script>alert(1)</script>"
ANNOUNCEMENT = "Réunion d'équipe jeudi à 18 h"


@pytest.fixture(scope="module")
def office(base_url: str, mailbox: Mailbox) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    staff = Api(base_url).login(*DEV_STAFF)
    admin_email, member_email = f"admin-{tag}@example.org", f"member-{tag}@example.org"
    staff.post("/api/networks", {"name": f"Réseau web {tag}", "admin": {
        "email": admin_email, "first_name": "Alice", "last_name": "Martin"}}, expect=201)
    admin = onboard(base_url, mailbox, admin_email, "Correct-Horse-Battery-42")
    admin.put("/api/network/settings", {"open_countries": ["BE"], "announcement": ANNOUNCEMENT})
    admin.post("/api/network/members", {"email": member_email, "first_name": "Bruno",
                                        "last_name": "Durand"}, expect=201)
    member = onboard(base_url, mailbox, member_email, MEMBER_PASSWORD)
    subscribe_by_card(member, "annual")

    site = staff.post("/api/staff/capture-sites", {"name": f"BE {tag}", "url": "https://be.example"})
    now = datetime.now(UTC).isoformat()
    digits = str(time.time_ns())[-6:]
    stock = [{"first_name": "Louise", "last_name": f"Peeters{chr(97 + i)}", "country": "BE",
              "email": f"louise.{tag}.{i}@exemple.be", "mobile": f"+32470{digits[:3]}{i:03d}",
              "postal_code": "1000", "city": "Bruxelles", "source_url": "https://be.example/f",
              "consent_at": now} for i in range(6)]
    results = Api(base_url).post("/api/capture/leads", {"leads": stock},
                                 headers={"X-Capture-Key": site["key"]})["results"]
    assert all(r["status"] == "accepted" for r in results), results
    plan = buy_active_plan(member, 90, "premium", "BE")  # 3 leads a day
    xss = member.post("/api/leads", {
        "first_name": XSS_NAME, "last_name": "Test", "country": "FR", "city": "Rennes",
        "email": f"xss.{tag}@exemple.fr", "postal_code": "35000",
        "source_url": "https://salon.example", "consent_at": now}, expect=201)
    # new terms: the member meets the gate in the browser; the admin accepts them by API
    version = f"web-{tag}"
    staff.post("/api/staff/terms", {"version": version, "text": "Conditions générales\n\n"
                                    "Article 1. Le service est utilisé dans un navigateur."},
               expect=201)
    admin.post("/api/terms/accept", {"version": version})
    return {"member_email": member_email, "admin_email": admin_email, "plan": plan,
            "xss_lead": xss["id"], "admin": admin, "member": member}


def login(page: Any, base_url: str, email: str, password: str) -> None:
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit].primary")


def test_distributor_journey(browser_page: Any, base_url: str, office: dict[str, Any]) -> None:
    page = browser_page
    with browser_step(page, "the dashboard asks for a login, in French"):
        page.goto(f"{base_url}/web/")
        assert "/web/login" in page.url
        assert page.locator("html").get_attribute("lang") == "fr"
        shot(page, "login")
        login(page, base_url, office["member_email"], MEMBER_PASSWORD)

    with browser_step(page, "the terms gate: the new version, accepted with one click"):
        page.wait_for_url("**/web/terms**")
        assert "Article 1." in page.inner_text(".terms")
        shot(page, "terms")
        page.click("#accept-terms")

    with browser_step(page, "the dashboard: announcement, the plan running, today's quota"):
        page.wait_for_url(f"{base_url}/web/")
        assert "Conditions acceptées." in page.inner_text(".flash")
        assert ANNOUNCEMENT in page.inner_text(".announcement")
        plan = page.locator(f"#plan-{office['plan']['id']}")
        assert "0 / 3" in plan.inner_text()
        shot(page, "dashboard")

    with browser_step(page, "Take: today's leads"):
        plan.locator("button.take").click()
        page.wait_for_url(f"{base_url}/web/")
        assert "3 contacts pris." in page.inner_text(".flash")
        assert "3 / 3" in page.locator(f"#plan-{office['plan']['id']}").inner_text()

    with browser_step(page, "the office list shows the bought leads (they arrive asynchronously)"):
        page.click("nav >> text=Bureau")
        deadline = time.monotonic() + 20
        while page.locator("a.lead-link", has_text="Peeters").count() < 3:
            assert time.monotonic() < deadline, page.inner_text("main")
            time.sleep(0.3)
            page.reload()
        shot(page, "office")

    with browser_step(page, "the status filter and the search"):
        page.select_option("#status", "new")
        page.click("form.filters button")
        assert page.locator("a.lead-link", has_text="Peeters").count() == 3
        page.fill("#q", "Bruxelles")
        page.click("form.filters button")
        assert page.locator("a.lead-link").count() == 3
        page.fill("#q", "nulle-part@exemple.fr")
        page.click("form.filters button")
        assert "Aucun contact ne correspond." in page.inner_text("main")
        page.fill("#q", "")
        page.select_option("#status", "")
        page.click("form.filters button")

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
        assert "status" in history and "new" in history and "contacted" in history
        assert "Rappeler mardi, intéressée" in page.inner_text("ul.notes")
        shot(page, "lead")

    with browser_step(page, "an empty note is refused beside its field"):
        page.click("text=Ajouter la note")
        assert page.locator("#note-error").count() == 1 or page.locator(
            "#note-text:invalid").count() == 1

    with browser_step(page, "Mon compte: profile, privacy switch"):
        page.click("nav >> text=Mon compte")
        page.fill("#phone", "+32 470 12 34 56")
        page.click("section[aria-labelledby=profile-title] button")
        assert "Profil enregistré." in page.inner_text(".flash")
        was = page.is_checked("#admin_access")
        page.set_checked("#admin_access", not was)
        page.click("section[aria-labelledby=privacy-title] button")
        assert "Réglage de confidentialité enregistré." in page.inner_text(".flash")
        assert page.is_checked("#admin_access") is (not was)
        shot(page, "account")

    with browser_step(page, "English on request"):
        page.click("button[name=lang][value=en]")
        assert "Password" in page.inner_text("main")
        assert page.locator("html").get_attribute("lang") == "en"
        page.click("button[name=lang][value=fr]")

    with browser_step(page, "logout: the session is revoked"):
        page.click("#logout")
        page.wait_for_url("**/web/login**")
        page.goto(f"{base_url}/web/office")
        assert "/web/login" in page.url
    assert page.dialogs == []


def test_form_without_csrf_is_refused(browser_page: Any, base_url: str,
                                      office: dict[str, Any]) -> None:
    page = browser_page
    lead = office["xss_lead"]
    page.goto(f"{base_url}/web/office/leads/{lead}")
    login(page, base_url, office["member_email"], MEMBER_PASSWORD)
    page.wait_for_url(f"**/web/office/leads/{lead}")
    with browser_step(page, "the pages carry a strict CSP"):
        response = page.request.get(f"{base_url}/web/office/leads/{lead}")
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
    with browser_step(page, "a POST without its CSRF token is a readable 403"):
        response = page.request.post(f"{base_url}/web/office/leads/{lead}/notes",
                                     form={"text": "forged"})
        assert response.status == 403
        assert "Ce formulaire a expiré ou ne vient pas de ce site." in response.text()
        response = page.request.post(f"{base_url}/web/office/leads/{lead}/notes",
                                     form={"text": "forged", "csrf": "guessed"})
        assert response.status == 403
    with browser_step(page, "a forged form from another origin is refused"):
        token = page.locator("input[name=csrf]").first.get_attribute("value")
        response = page.request.post(f"{base_url}/web/office/leads/{lead}/notes",
                                     form={"text": "forged", "csrf": token},
                                     headers={"Origin": "https://evil.example"})
        assert response.status == 403
        notes = office["member"].get(f"/api/leads/{lead}/notes")["items"]
        assert all(n["text"] != "forged" for n in notes)


def test_script_in_a_lead_name_is_text(browser_page: Any, base_url: str,
                                       office: dict[str, Any]) -> None:
    page = browser_page
    lead = office["xss_lead"]
    page.goto(f"{base_url}/web/office/leads/{lead}")
    login(page, base_url, office["member_email"], MEMBER_PASSWORD)
    with browser_step(page, "the name shows as typed, and no script runs"):
        page.wait_for_url(f"**/web/office/leads/{lead}")
        assert page.inner_text("h1.lead-name") == f"{XSS_NAME} Test"
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.content()
        page.goto(f"{base_url}/web/office")
        assert page.locator("a.lead-link", has_text=XSS_NAME).count() == 1
        assert page.dialogs == []


def test_another_users_lead_is_a_404_and_login_leads_back(
        browser_page: Any, base_url: str, office: dict[str, Any]) -> None:
    page = browser_page
    lead = office["xss_lead"]
    with browser_step(page, "a 401 goes to the login page, and back to the wanted page"):
        page.goto(f"{base_url}/web/office/leads/{lead}")
        assert "/web/login" in page.url and "next=" in page.url
        login(page, base_url, office["admin_email"], "Correct-Horse-Battery-42")
    with browser_step(page, "the member's lead is not the admin's: a 404 page"):
        page.wait_for_url(f"**/web/office/leads/{lead}")
        assert "Page introuvable" in page.inner_text("h1")
        assert XSS_NAME not in page.content()
        response = page.request.get(f"{base_url}/web/office/leads/{lead}")
        assert response.status == 404
