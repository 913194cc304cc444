"""The web office in a real browser, for a network admin: the dashboard's link to the
administration, inviting a member through the form (keyboard only), a refused address
shown beside its field, and the plans page, whose price follows the typing (plans.js),
buying a plan by transfer and withdrawing it.

Set-up goes through the JSON API (a network with an open country and a subscribed admin);
the checks after the journey read the same API.
"""
from __future__ import annotations

import uuid
from typing import Any

from tools.api_client import Api, Mailbox, onboard, subscribe_by_card
from tools.platform import DEV_STAFF

ADMIN_PASSWORD = "Correct-Horse-Battery-42"


def test_admin_journey(journey: Any, base_url: str, mailbox: Mailbox) -> None:
    tag = uuid.uuid4().hex[:8]
    staff = Api(base_url).login(*DEV_STAFF)
    admin_email, invitee = f"admin-{tag}@example.org", f"invitee-{tag}@example.org"
    staff.post("/api/networks", {"name": f"Réseau admin {tag}", "admin": {
        "email": admin_email, "first_name": "Alice", "last_name": "Martin"}}, expect=201)
    admin = onboard(base_url, mailbox, admin_email, ADMIN_PASSWORD)
    subscribe_by_card(admin, "annual")
    admin.put("/api/network/settings", {"open_countries": ["FR"]})
    if not admin.get("/api/me")["terms"]["accepted"]:  # another module may publish terms
        admin.post("/api/terms/accept", {"version": admin.get("/api/terms/current")["version"]})
    quote = admin.post("/api/plans/quote", {"records": 60, "tier": "standard", "country": "FR"},
                       expect=200)

    journey("admin", {"admin_email": admin_email, "admin_password": ADMIN_PASSWORD,
                      "invitee_email": invitee,
                      "quote_total": f"{quote['total_cents'] / 100:.2f} €",
                      "quote_daily": quote["daily_quota"]})

    members = [m["email"] for m in admin.get("/api/network/members?limit=200")["items"]]
    assert invitee in members
    mailbox.set_password_token(invitee)  # the invitation is emailed, as through the API
    assert [p["status"] for p in admin.get("/api/plans")["items"]] == ["cancelled"]
