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

from tools.api_client import Api, Mailbox, new_member, new_network

MEMBER_PASSWORD = "Distinct-Violet-Pass-78"
ADMIN_PASSWORD = "Correct-Horse-Battery-43"


@pytest.fixture(scope="module")
def member(base_url: str, mailbox: Mailbox) -> dict[str, Any]:
    _, admin = new_network(base_url, mailbox, name=f"Réseau forfaits {uuid.uuid4().hex[:8]}",
                           password=ADMIN_PASSWORD, countries=["BE"],
                           admin_name=("Anne", "Leroy"))
    _, api = new_member(base_url, mailbox, admin, password=MEMBER_PASSWORD)
    return {"email": api.email, "api": api}  # type: ignore[attr-defined]


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
