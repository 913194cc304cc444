"""The distributor's subscription and plans in a real browser: subscribe by card through
the provider's redirect page (both office kinds), buy a distribution plan and pay it,
change its tier (twice: the second is refused), declare a force majeure with its proof,
and read the plan's calendar.

Set-up goes through the JSON API (a network open in Belgium, an onboarded member with no
subscription yet); the journey itself is clicks and typing (``journeys_plans.plans``).
"""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from tools.api_client import Api, Mailbox, onboard
from tools.platform import DEV_STAFF

MEMBER_PASSWORD = "Distinct-Violet-Pass-78"
ADMIN_PASSWORD = "Correct-Horse-Battery-43"


@pytest.fixture(scope="module")
def member(base_url: str, mailbox: Mailbox) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    staff = Api(base_url).login(*DEV_STAFF)
    admin_email, member_email = f"padmin-{tag}@example.org", f"pmember-{tag}@example.org"
    staff.post("/api/networks", {"name": f"Réseau forfaits {tag}", "admin": {
        "email": admin_email, "first_name": "Anne", "last_name": "Leroy"}}, expect=201)
    admin = onboard(base_url, mailbox, admin_email, ADMIN_PASSWORD)
    admin.put("/api/network/settings", {"open_countries": ["BE"]})
    admin.post("/api/network/members", {"email": member_email, "first_name": "Paul",
                                        "last_name": "Girard"}, expect=201)
    api = onboard(base_url, mailbox, member_email, MEMBER_PASSWORD)
    return {"email": member_email, "api": api}


def test_plans_journey(journey: Any, member: dict[str, Any]) -> None:
    journey("plans", {"member_email": member["email"], "member_password": MEMBER_PASSWORD})
    api: Api = member["api"]
    subscription = api.get("/api/me")["subscription"]
    assert (subscription["status"], subscription["kind"]) == ("active", "both")
    plans = api.get("/api/plans")["items"]
    assert [(p["tier"], p["kind"], p["status"]) for p in plans] == [
        ("premium", "distribution", "active")]
    absences = api.get("/api/absences")["items"]
    assert [(a["kind"], a["status"], (a["proof"] or {}).get("mime")) for a in absences] == [
        ("force_majeure", "pending", "image/png")]
