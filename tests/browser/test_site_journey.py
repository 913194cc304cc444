"""The users' sites and the boutique in a real browser (issue 15; issue 13 §2-§3): an admin
builds a product page with a capture form and a boutique product, a member changes the
block the admin opened and sees it in the preview, a visitor fills in the capture form,
and the lead shows up in the member's office and in the admin's read-only view of it.

Set-up goes through the JSON API (a network, a subscribed admin and member past the terms
gate); the journey is ``journeys_site.site``; the checks after it read the same API.
"""
from __future__ import annotations

import uuid
from typing import Any

from tests.e2e.conftest import PlatformClock
from tools.api_client import Api, Mailbox, onboard, subscribe_by_card
from tools.platform import DEV_STAFF

ADMIN_PASSWORD = "Correct-Horse-Battery-42"
MEMBER_PASSWORD = "Distinct-Violet-Pass-77"


def _past_terms(api: Api) -> None:
    if not api.get("/api/me")["terms"]["accepted"]:  # another module may publish terms
        api.post("/api/terms/accept", {"version": api.get("/api/terms/current")["version"]})


def test_site_journey(journey: Any, base_url: str, mailbox: Mailbox) -> None:
    tag = uuid.uuid4().hex[:8]
    staff = Api(base_url).login(*DEV_STAFF)
    admin_email, member_email = f"admin-{tag}@example.org", f"member-{tag}@example.org"
    staff.post("/api/networks", {"name": f"Réseau sites {tag}", "admin": {
        "email": admin_email, "first_name": "Alice", "last_name": "Martin"}}, expect=201)
    admin = onboard(base_url, mailbox, admin_email, ADMIN_PASSWORD)
    subscribe_by_card(admin, "annual")
    admin.put("/api/network/settings", {"open_countries": ["FR"]})
    member_row = admin.post("/api/network/members", {
        "email": member_email, "first_name": "Bruno", "last_name": "Durand"}, expect=201)
    member = onboard(base_url, mailbox, member_email, MEMBER_PASSWORD)
    subscribe_by_card(member, "monthly")
    _past_terms(admin)
    _past_terms(member)
    slug = member.get("/api/me/site")["slug"]
    lead_last_name, lead_email = f"Lefèvre{tag}", f"camille.{tag}@exemple.fr"

    try:
        journey("site", {"admin_email": admin_email, "admin_password": ADMIN_PASSWORD,
                         "member_email": member_email, "member_password": MEMBER_PASSWORD,
                         "member_id": member_row["id"], "member_name": "Bruno Durand",
                         "slug": slug, "lead_last_name": lead_last_name,
                         "lead_email": lead_email})
    finally:
        PlatformClock(base_url).reset()

    pages = admin.get("/api/network/site-pages")["items"]
    assert [(p["kind"], [b["type"] for b in p["blocks"]]) for p in pages] == [
        ("distribution", ["heading", "text", "form"])]
    assert "script" not in pages[0]["blocks"][1]["html"]
    assert admin.get(f"/api/network/site-pages/{pages[0]['id']}")["overrides"] == []  # reset
    products = admin.get("/api/network/boutique")["products"]
    assert [(p["name"], p["price_cents"], len(p["image_ids"])) for p in products] == [
        ("Crème de jour", 1250, 1)]
    assert member.get("/api/me/site")["settings"]["show_phone"] is False
    leads = member.get("/api/leads")["items"]
    assert [(x["origin"], x["email"]) for x in leads] == [("site", lead_email)]
    consent = member.get(f"/api/leads/{leads[0]['id']}")["site_consents"]
    assert [(c["notice_version"], c["kind"]) for c in consent] == [("v1", "distribution")]
