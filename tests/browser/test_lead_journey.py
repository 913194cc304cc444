"""The web office in a real browser: a distributor works one lead (``journeys_lead.lead``):
edit, pipeline with a note, the refund claim's refusal, Gmail linked at the fake Google and
an email sent through it, a work document kept and downloaded, a statistics chart and its
CSV, stale leads deleted after a confirmation.

Set-up goes through the JSON API (a network whose admin defines a statistics model, a
subscribed member with personal leads); the checks after the journey read the same API and
the fake Google's outbox.
"""
from __future__ import annotations

import base64
import email
import email.policy
import uuid
from datetime import UTC, datetime
from typing import Any

import requests

from tools.api_client import Api, Mailbox, onboard, subscribe_by_card
from tools.platform import DEV_STAFF, Platform

MEMBER_PASSWORD = "Distinct-Violet-Pass-77"
ADMIN_PASSWORD = "Correct-Horse-Battery-42"
STAT_MODEL = "Contacts par origine"
STALE_CITY = "Quimper"


def personal_lead(member: Api, first_name: str, last_name: str, city: str, address: str) -> str:
    lead = member.post("/api/leads", {
        "first_name": first_name, "last_name": last_name, "country": "FR", "email": address,
        "city": city, "postal_code": "35000", "source_url": "https://salon.example",
        "consent_at": datetime.now(UTC).isoformat()}, expect=201)
    return str(lead["id"])


def gmail_subjects_to(platform: Platform, address: str) -> list[str]:
    """The subjects of what the fake Google's Gmail took for ``address``."""
    session = requests.Session()
    session.trust_env = False
    sent = session.get(f"http://127.0.0.1:{platform.google_port}/_fake/sent", timeout=30).json()
    subjects = []
    for item in sent:
        raw = base64.urlsafe_b64decode(item["raw"] + "=" * (-len(item["raw"]) % 4))
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if address in str(msg["To"]):
            subjects.append(str(msg["Subject"]))
    return subjects


def test_lead_journey(journey: Any, platform: Platform, base_url: str,
                      mailbox: Mailbox) -> None:
    tag = uuid.uuid4().hex[:8]
    staff = Api(base_url).login(*DEV_STAFF)
    admin_email, member_email = f"admin-{tag}@example.org", f"lead-{tag}@example.org"
    staff.post("/api/networks", {"name": f"Réseau contacts {tag}", "admin": {
        "email": admin_email, "first_name": "Alice", "last_name": "Martin"}}, expect=201)
    admin = onboard(base_url, mailbox, admin_email, ADMIN_PASSWORD)
    admin.post("/api/network/stat-models", {"name": STAT_MODEL, "metric": "leads_received",
                                            "grouping": "origin", "window_days": 30},
               expect=201)
    admin.post("/api/network/members", {"email": member_email, "first_name": "Bruno",
                                        "last_name": "Durand"}, expect=201)
    member = onboard(base_url, mailbox, member_email, MEMBER_PASSWORD)
    subscribe_by_card(member, "annual")
    if not member.get("/api/me")["terms"]["accepted"]:  # another module may publish terms
        member.post("/api/terms/accept", {"version": member.get("/api/terms/current")["version"]})
    lead_email = f"camille.{tag}@exemple.fr"
    lead_id = personal_lead(member, "Camille", f"Lefèvre{tag}", "Rennes", lead_email)
    stale = [personal_lead(member, "Yann", f"Ancien{i}{tag}", STALE_CITY,
                           f"yann.{i}.{tag}@exemple.fr") for i in range(2)]
    gmail_address = f"bruno.{tag}@gmail.test"

    journey("lead", {"member_email": member_email, "member_password": MEMBER_PASSWORD,
                     "member_token": member.token, "lead_id": lead_id,
                     "lead_first_name": "Camille", "lead_last_name": f"Lefèvre{tag}",
                     "lead_email": lead_email, "gmail_address": gmail_address,
                     "stat_model": STAT_MODEL, "stale_city": STALE_CITY,
                     "stale_count": len(stale)})

    lead = member.get(f"/api/leads/{lead_id}")
    assert (lead["city"], lead["postal_code"], lead["status"]) == ("Saint-Malo", "35400",
                                                                  "contacted")
    assert [n["text"] for n in member.get(f"/api/leads/{lead_id}/notes")["items"]] == [
        "Rappeler jeudi après 18 h"]
    [sent] = member.get(f"/api/leads/{lead_id}/emails")["items"]
    assert (sent["status"], sent["channel"], sent["origin"]) == ("sent", "gmail", "office")
    assert gmail_subjects_to(platform, lead_email) == ["Votre projet, Camille"]
    [document] = member.get("/api/documents")["items"]
    assert (document["name"], document["shared_with_network"]) == ("devis Lefèvre.pdf", True)
    for gone in stale:
        assert member.call("GET", f"/api/leads/{gone}")[0] == 404
