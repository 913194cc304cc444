"""The site and boutique journey (issue 15, issue 13 §2-§3), clicking and typing as people
would (run by ``driver`` through ``journeys.JOURNEYS``):

* the admin builds the product page: a heading members may change, a rich text, a capture
  form, reorders two blocks (one with the keyboard); then the boutique and a product with
  its image, which the member's boutique shows;
* the member changes the open heading (keyboard only), sees it in the preview, and finds
  the public links;
* a visitor opens the member's site, fills in the capture form, and is thanked;
* the lead is in the member's office, and in the admin's read-only view of it.

The capture form's minimum fill time (3 s) passes by moving the platform's development
clock forward, never by waiting; the test puts the clock back.
"""
from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.browser.browsing import browser_step, check_accessibility, shot

NOTICE = ("Vos données sont traitées par votre conseiller pour vous recontacter au sujet de "
          "nos produits. Vous pouvez exercer vos droits à tout moment.")


def _login(page: Any, email: str, password: str) -> None:
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit].primary")


def _logout(page: Any) -> None:
    page.click("#logout")
    page.wait_for_url("**/web/login**")


def _png() -> bytes:
    from PIL import Image  # the platform's own Pillow (accounts re-encodes with it)
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (20, 110, 120)).save(out, format="PNG")
    return out.getvalue()


def site(page: Any, base_url: str, data: dict[str, Any]) -> None:
    member_name, lead_name = data["member_name"], data["lead_last_name"]
    with browser_step(page, "the admin opens the site pages from the administration"):
        page.goto(f"{base_url}/web/admin/sites")
        _login(page, data["admin_email"], data["admin_password"])
        page.wait_for_url(f"{base_url}/web/admin/sites")
        assert page.locator("nav.subnav a[href='/web/admin/boutique']").count() == 1

    with browser_step(page, "a new product page (distribution)"):
        page.select_option("#new-kind", "distribution")
        page.fill("#new-title", "Les produits de {name}")
        page.click("#new-page-form button[type=submit]")
        page.wait_for_selector(".flash")
        assert "Page créée." in page.inner_text(".flash")

    with browser_step(page, "blocks: a heading members may change, a rich text, a capture form"):
        page.click("#add-heading summary")
        page.fill("#new-heading-text", "Bienvenue chez {name}")
        page.check("#new-heading-overridable")
        page.click("#add-heading-form button[type=submit]")
        page.wait_for_selector(".flash")
        page.click("#add-text summary")
        page.fill("#new-text-html", "<p>Appelez-moi au <strong>{phone}</strong>."
                                    "<script>alert(1)</script></p>")
        page.click("#add-text-form button[type=submit]")
        page.wait_for_selector(".flash")
        page.click("#add-form summary")
        page.fill("#new-form-notice", NOTICE)
        page.fill("#new-form-notice_version", "v1")
        page.fill("#new-form-submit_label", "Être recontacté")
        page.click("#add-form-form button[type=submit]")
        page.wait_for_selector(".flash")
        assert page.locator("li.block").count() == 3
        assert "script" not in page.input_value("li.block:nth-child(2) textarea")
        assert "ouvert aux membres" in page.inner_text("li.block:nth-child(1) h3")

    with browser_step(page, "the order: the rich text moved above the heading, and back"):
        page.click("li.block:nth-child(2) button[value=up]")
        page.wait_for_selector(".flash")
        assert "Texte enrichi" in page.inner_text("li.block:nth-child(1) h3")
        page.focus("li.block:nth-child(2) button[value=up]")
        page.keyboard.press("Enter")
        page.wait_for_selector(".flash")
        assert "Titre" in page.inner_text("li.block:nth-child(1) h3")

    with browser_step(page, "a wrong video link is refused beside its field"):
        page.click("#add-video summary")
        page.fill("#new-video-url", "http://video.example/x")
        page.click("#add-video-form button[type=submit]")
        page.wait_for_selector("#add-video .field-error")
        assert page.locator("li.block").count() == 3
        shot(page, "admin-site-page")

    with browser_step(page, "the boutique: its notice, then a product with an image"):
        page.click("nav.subnav >> text=Boutique")
        page.wait_for_url(f"{base_url}/web/admin/boutique")
        page.fill("#shop-title-field", "La boutique de {name}")
        page.fill("#shop-notice", NOTICE)
        page.fill("#shop-notice_version", "b1")
        page.click("#boutique-form button[type=submit]")
        page.wait_for_selector(".flash")
        page.fill("#new-name", "Crème de jour")
        page.fill("#new-description", "50 ml")
        page.fill("#new-price", "douze")
        page.click("#new-product-form button[type=submit]")
        page.wait_for_selector("#new-product-form .field-error")  # the price as typed
        page.fill("#new-price", "12,50")
        page.fill("#new-order_note", "Livraison sous 8 jours")
        page.set_input_files("#new-file", files=[{"name": "creme.png", "mimeType": "image/png",
                                                  "buffer": _png()}])
        page.click("#new-product-form button[type=submit]")
        page.wait_for_selector(".flash")
        assert "Produit enregistré." in page.inner_text(".flash")
        assert "12,50" in page.inner_text("section.product h3")
        assert page.locator("section.product img").count() == 1
        shot(page, "admin-boutique")
        _logout(page)

    with browser_step(page, "the member opens My site: the public links"):
        page.goto(f"{base_url}/web/")
        _login(page, data["member_email"], data["member_password"])
        page.wait_for_url(f"{base_url}/web/")
        page.click("nav >> text=Mon site")
        page.wait_for_url(f"{base_url}/web/site")
        assert page.get_attribute("#link-distribution", "href") == f"/s/{data['slug']}/"
        assert page.get_attribute("#link-boutique", "href") == f"/b/{data['slug']}/"
        assert f"Bienvenue chez {member_name}" in page.inner_text("#preview-distribution")

    with browser_step(page, "the member changes the open heading with the keyboard alone"):
        field = page.locator("form.my-block input[name=text]")
        assert field.count() == 1  # only the block the admin opened
        field.focus()
        page.keyboard.press("Control+A")
        page.keyboard.type("Les conseils de {name}")
        page.keyboard.press("Enter")
        page.wait_for_selector(".flash")
        assert "vous en êtes responsable" in page.inner_text(".flash")
        preview = page.inner_text("#preview-distribution")
        assert f"Les conseils de {member_name}" in preview and "Bienvenue" not in preview
        shot(page, "my-site")

    with browser_step(page, "the coordinates: the phone hidden, saved"):
        page.uncheck("#show_phone")
        page.click("#settings-form button[type=submit]")
        page.wait_for_selector(".flash")
        assert not page.is_checked("#show_phone")
        _logout(page)

    site_url = f"{base_url}/s/{data['slug']}/"
    with browser_step(page, "a visitor opens the member's site: the override, no script"):
        page.goto(site_url)
        body = page.inner_text("body")
        assert f"Les conseils de {member_name}" in body and NOTICE in body
        assert page.locator("script").count() == 0
        check_accessibility(page, "public-site")
        shot(page, "public-site")

    with browser_step(page, "the member's boutique shows the catalogue"):
        page.goto(f"{base_url}/b/{data['slug']}/")
        body = page.inner_text("body")
        assert f"La boutique de {member_name}" in body and "Crème de jour" in body
        assert "12,50" in body
        page.goto(site_url)

    with browser_step(page, "the visitor fills in the capture form and is thanked"):
        page.fill("#f-first", "Camille")
        page.fill("#f-last", lead_name)
        page.fill("#f-email", data["lead_email"])
        page.fill("#f-postal", "75011")
        page.fill("#f-city", "Paris")
        # the minimum fill time passes on the platform's clock, not by waiting here
        moved = page.request.post(f"{base_url}/api/dev/clock", headers={
            "Content-Type": "application/json"}, data=json.dumps(
                {"now": (datetime.now(UTC) + timedelta(seconds=30)).isoformat()}))
        assert moved.status == 200, moved.text()
        page.click("#contact button[type=submit]")
        page.wait_for_url("**/merci")
        assert "Merci" in page.inner_text("h1")

    with browser_step(page, "the lead is in the member's office"):
        page.goto(f"{base_url}/web/office")
        _login(page, data["member_email"], data["member_password"])
        page.wait_for_url(f"{base_url}/web/office")
        assert page.locator("a.lead-link", has_text=lead_name).count() == 1
        _logout(page)

    with browser_step(page, "the admin sees it too, in the member's office, read-only"):
        page.goto(f"{base_url}/web/admin")
        _login(page, data["admin_email"], data["admin_password"])
        page.wait_for_url(f"{base_url}/web/admin")
        page.click(f"a.member-office[href$='/{data['member_id']}/office']")
        page.wait_for_url(f"**/members/{data['member_id']}/office")
        assert lead_name in page.inner_text("table.leads")
        assert page.locator("main form[method=post]").count() == 0  # read-only
        shot(page, "admin-member-office")

    with browser_step(page, "the admin resets the member's heading"):
        page.goto(f"{base_url}/web/admin/sites")
        page.click("a.site-page-link")
        page.click("#overrides button.reset-override")
        page.wait_for_selector(".flash")
        assert page.locator("#overrides button.reset-override").count() == 0


JOURNEYS = {"site": site}
