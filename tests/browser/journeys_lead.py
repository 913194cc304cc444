"""A distributor works one lead in the browser (``test_lead_journey``): edits it (a refused
address shown beside its field, then a keyboard-only edit), moves it along the pipeline
with a note, meets the refund claim's refusal, links Gmail at the fake Google, emails the
lead and sees the email sent through Gmail, keeps a work document and downloads it back, deletes another,
views a statistics model's chart and its CSV, and deletes stale leads after a
confirmation. axe-core checks every page it screenshots (``shot``).

Registered into ``journeys.JOURNEYS`` as ``lead``; run by ``driver`` like the others.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.browser.browsing import browser_step, shot

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
WAIT_SECONDS = 30


def _login(page: Any, email: str, password: str) -> None:
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit].primary")


def _reload_until(page: Any, selector: str, text: str) -> None:
    """Reload until ``selector`` holds ``text`` (the mailer sends asynchronously)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while text not in page.inner_text(selector):
        assert time.monotonic() < deadline, page.inner_text(selector)
        page.reload(wait_until="load")


def lead(page: Any, base_url: str, data: dict[str, Any]) -> None:
    lead_url = f"{base_url}/web/office/leads/{data['lead_id']}"
    with browser_step(page, "log in on the way to the office, open the lead"):
        page.goto(f"{base_url}/web/office")
        _login(page, data["member_email"], data["member_password"])
        page.wait_for_url(f"{base_url}/web/office")
        page.locator("a.lead-link", has_text=data["lead_last_name"]).click()
        page.wait_for_url(lead_url)
        assert "n'est pas lié" in page.inner_text("#gmail-status")
        shot(page, "lead-page")

    with browser_step(page, "a wrong address is refused beside its field, what was typed stays"):
        page.evaluate("() => document.querySelector('#edit-email').type = 'text'")
        page.fill("#edit-email", "pas-une-adresse")
        page.click("#save-lead")
        page.wait_for_selector("#email-error")
        assert page.input_value("#edit-email") == "pas-une-adresse"
        assert page.get_attribute("#edit-email", "aria-invalid") == "true"

    with browser_step(page, "edit the lead with the keyboard alone"):
        page.fill("#edit-email", data["lead_email"])
        page.focus("#edit-postal_code")
        page.keyboard.press("Control+A")
        page.keyboard.type("35400")
        page.keyboard.press("Tab")
        page.keyboard.press("Control+A")
        page.keyboard.type("Saint-Malo")
        page.keyboard.press("Enter")
        page.wait_for_selector(".flash")
        assert "Contact enregistré." in page.inner_text(".flash")
        assert "Saint-Malo" in page.inner_text("#current-city")
        assert "Saint-Malo" in page.inner_text("table.history")

    with browser_step(page, "along the pipeline with a note"):
        page.select_option("#new-status", "contacted")
        page.fill("#status-note", "Rappeler jeudi après 18 h")
        page.click("#change-status")
        page.wait_for_selector(".flash")
        assert "Statut modifié." in page.inner_text(".flash")
        assert page.inner_text("#current-status") == "contacted"
        assert "Rappeler jeudi après 18 h" in page.inner_text("ul.notes")

    with browser_step(page, "a refund claim on a personal lead is refused in words"):
        page.select_option("#reason", "fake_record")
        page.click("#file-claim")
        page.wait_for_selector("#claim-error")
        assert "Seuls les contacts achetés" in page.inner_text("#claim-error")

    with browser_step(page, "link Gmail at the fake Google, from this browser"):
        answer = page.request.get(f"{base_url}/api/mailer/google/authorize",
                                  headers={"Authorization": f"Bearer {data['member_token']}"})
        assert answer.status == 200, answer.text()
        page.goto(f"{answer.json()['url']}&login_hint={data['gmail_address']}")
        # Google's return forwards to Mon compte, which says the outcome
        assert page.url.startswith(f"{base_url}/web/account"), page.url
        assert "Gmail est lié" in page.inner_text(".flash")
        page.goto(lead_url)
        assert data["gmail_address"] in page.inner_text("#gmail-status")

    with browser_step(page, "email the lead: it leaves through Gmail"):
        page.fill("#subject", "Votre projet, {{ lead.first_name }}")
        page.fill("#body", "Bonjour {{ lead.first_name }},\nje vous rappelle jeudi.")
        page.click("#send-email")
        page.wait_for_selector(".flash")
        assert "E-mail en file d'attente" in page.inner_text(".flash")
        _reload_until(page, "table.emails", "sent")
        row = page.inner_text("table.emails")
        assert f"Votre projet, {data['lead_first_name']}" in row and "gmail" in row, row
        shot(page, "lead-emails")

    with browser_step(page, "on a phone: the lead's page fits the screen's width"):
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px screen"
        shot(page, "lead-phone")
        page.set_viewport_size({"width": 1024, "height": 768})

    with browser_step(page, "work documents: an empty file is refused beside its field"):
        page.click("nav.subnav >> text=Documents de travail")
        page.wait_for_url(f"{base_url}/web/office/documents")
        page.set_input_files("#file", files=[{"name": "vide.txt", "mimeType": "text/plain",
                                              "buffer": b""}])
        page.click("#upload")
        page.wait_for_selector("#file-error")
        assert "Le fichier est vide." in page.inner_text("#file-error")

    with browser_step(page, "upload a document and download it back"):
        page.set_input_files("#file", files=[{"name": "devis Lefèvre.pdf",
                                              "mimeType": "application/pdf", "buffer": PDF}])
        page.check("#shared_with_network")
        page.click("#upload")
        page.wait_for_selector(".flash")
        assert "Document enregistré." in page.inner_text(".flash")
        link = page.locator("a.document-link", has_text="devis Lefèvre.pdf")
        with page.expect_download() as download:
            link.click()
        assert Path(download.value.path()).read_bytes() == PDF
        assert download.value.suggested_filename == "devis Lefèvre.pdf"
        shot(page, "documents")

    with browser_step(page, "delete a document"):
        page.set_input_files("#file", files=[{"name": "brouillon.txt", "mimeType": "text/plain",
                                              "buffer": "à jeter\n".encode()}])
        page.click("#upload")
        page.wait_for_selector("a.document-link >> text=brouillon.txt")
        page.click("button[aria-label='Supprimer brouillon.txt']")
        page.wait_for_selector(".flash")
        assert "Document supprimé." in page.inner_text(".flash")
        assert page.locator("a.document-link", has_text="brouillon.txt").count() == 0
        assert page.locator("a.document-link").count() == 1

    with browser_step(page, "statistics: the model's chart and its CSV"):
        page.click("nav.subnav >> text=Statistiques")
        page.wait_for_url(f"{base_url}/web/office/stats")
        page.click(f"a.stat-link >> text={data['stat_model']}")
        page.wait_for_selector("img#chart")
        page.wait_for_function("() => document.querySelector('img#chart').complete && "
                               "document.querySelector('img#chart').naturalWidth > 0")
        assert page.locator("table.figures tbody tr").count() >= 1
        with page.expect_download() as download:
            page.click("#stat-csv")
        assert Path(download.value.path()).read_text().startswith("series,x,value")
        shot(page, "stats")

    with browser_step(page, "stale leads: filter the list, confirm, delete"):
        page.click("nav.subnav >> text=Mes contacts")
        page.fill("#city", data["stale_city"])
        page.click("form.filters button")
        page.wait_for_url("**city=**")
        assert page.locator("a.lead-link").count() == data["stale_count"]
        page.click("#bulk-delete")
        page.wait_for_url("**/web/office/bulk-delete?**")
        assert page.locator("table.bulk-leads tbody tr").count() == data["stale_count"]
        shot(page, "bulk-delete")
        page.click("#bulk-confirm")
        page.wait_for_selector(".flash")
        assert f"{data['stale_count']} contacts supprimés" in page.inner_text(".flash")
        page.goto(f"{base_url}/web/office")
        assert page.locator("a.lead-link", has_text=data["lead_last_name"]).count() == 1
