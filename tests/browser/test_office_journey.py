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

from tests.e2e.scenario import buy_active_plan
from tools.api_client import Api, Mailbox, onboard, subscribe_by_card
from tools.platform import DEV_STAFF

MEMBER_PASSWORD = "Distinct-Violet-Pass-77"
ADMIN_PASSWORD = "Correct-Horse-Battery-42"
ANNOUNCEMENT = "Réunion d'équipe jeudi à 18 h"


@pytest.fixture(scope="module")
def office(base_url: str, mailbox: Mailbox) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    staff = Api(base_url).login(*DEV_STAFF)
    admin_email, member_email = f"admin-{tag}@example.org", f"member-{tag}@example.org"
    staff.post("/api/networks", {"name": f"Réseau web {tag}", "admin": {
        "email": admin_email, "first_name": "Alice", "last_name": "Martin"}}, expect=201)
    admin = onboard(base_url, mailbox, admin_email, ADMIN_PASSWORD)
    subscribe_by_card(admin, "annual")  # an office of their own, where the member's lead is not
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
        "first_name": "<script>alert(1)</script>", "last_name": "Test", "country": "FR", "city": "Rennes",
        "email": f"xss.{tag}@exemple.fr", "postal_code": "35000",
        "source_url": "https://salon.example", "consent_at": now}, expect=201)
    # new terms: the member meets the gate in the browser; the admin accepts them by API
    version = f"web-{tag}"
    staff.post("/api/staff/terms", {"version": version, "text": "Conditions générales\n\n"
                                    "Article 1. Le service est utilisé dans un navigateur."},
               expect=201)
    admin.post("/api/terms/accept", {"version": version})
    return {"member_email": member_email, "member_password": MEMBER_PASSWORD,
            "admin_email": admin_email, "admin_password": ADMIN_PASSWORD,
            "plan_id": plan["id"], "xss_lead": xss["id"], "announcement": ANNOUNCEMENT,
            "member": member}


def data_of(office: dict[str, Any], terms_accepted: bool = True) -> dict[str, Any]:
    """The journey's data; the member past the terms gate first unless the journey is the
    one that meets it (so each test also runs alone)."""
    member = office["member"]
    if terms_accepted and not member.get("/api/me")["terms"]["accepted"]:
        member.post("/api/terms/accept", {"version": member.get("/api/terms/current")["version"]})
    return {k: v for k, v in office.items() if k != "member"}


def test_distributor_journey(journey: Any, office: dict[str, Any]) -> None:
    """Signs in, accepts the new terms, sees the dashboard, takes today's leads, filters
    and searches the office, moves a lead along the pipeline with a note and finds it in
    the history, edits Mon compte, switches to English and back, logs out."""
    journey("distributor", data_of(office, terms_accepted=False))


def test_form_without_csrf_is_refused(journey: Any, office: dict[str, Any]) -> None:
    journey("csrf", data_of(office))
    notes = office["member"].get(f"/api/leads/{office['xss_lead']}/notes")["items"]
    assert [n["text"] for n in notes] == ["vraie note"]


def test_script_in_a_lead_name_is_text(journey: Any, office: dict[str, Any]) -> None:
    journey("script_as_text", data_of(office))


def test_another_users_lead_is_a_404_and_login_leads_back(journey: Any,
                                                           office: dict[str, Any]) -> None:
    journey("not_yours", data_of(office))


