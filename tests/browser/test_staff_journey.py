"""The web office in a real browser for platform staff and compliance (issue 15): staff
validate a payment and decide a claim (then follow the stock against the forecast and
close sales, register and revoke a capture site, find an account and suspend and
reactivate it, publish terms, look at dead letters); compliance runs an erasure and
declares a breach (then announce a sub-processor, read the register, verify the audit
trail). axe-core checks each main page (``browsing.shot``).

Set-up goes through the JSON API, as ``test_office_journey``: a network whose member has
an active plan with leads taken and a refund claim filed, and whose admin has a transfer
payment pending; a compliance account with its second factor. The checks after each
journey read the same API.
"""
from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from suivi_common.testing.waiting import wait_for
from tests.e2e.scenario import buy_active_plan, take_leads
from tools.api_client import (
    Api,
    Mailbox,
    enrol_totp,
    new_member,
    new_network,
    platform_now,
    subscribe_by_card,
)
from tools.platform import DEV_STAFF

ADMIN_PASSWORD = "Correct-Horse-Battery-42"
MEMBER_PASSWORD = "Distinct-Violet-Pass-77"
COMPLIANCE_PASSWORD = "Compliance-Owl-Lantern-58"
PARIS = ZoneInfo("Europe/Paris")


def _network(base_url: str, mailbox: Mailbox) -> tuple[Api, Api, Api, str]:
    staff = Api(base_url).login(*DEV_STAFF)
    _, admin = new_network(base_url, mailbox, password=ADMIN_PASSWORD, countries=["BE"])
    _, member = new_member(base_url, mailbox, admin, password=MEMBER_PASSWORD)
    return staff, admin, member, member.email  # type: ignore[attr-defined]


def test_staff_validate_a_payment_and_decide_a_claim(journey: Any, base_url: str,
                                                    mailbox: Mailbox) -> None:
    tag = uuid.uuid4().hex[:8]
    staff, admin, member, member_email = _network(base_url, mailbox)
    subscribe_by_card(member, "annual")
    site = staff.post("/api/staff/capture-sites", {"name": f"BE {tag}",
                                                   "url": "https://be.example"})
    now = datetime.now(UTC).isoformat()
    digits = str(time.time_ns())[-6:]
    stock = [{"first_name": "Louise", "last_name": f"Peeters{chr(97 + i)}", "country": "BE",
              "email": f"louise.{tag}.{i}@exemple.be", "mobile": f"+32470{digits[:3]}{i:03d}",
              "postal_code": "1000", "city": "Bruxelles", "source_url": "https://be.example/f",
              "consent_at": now} for i in range(6)]
    results = Api(base_url).post("/api/capture/leads", {"leads": stock},
                                 headers={"X-Capture-Key": site["key"]})["results"]
    assert all(r["status"] == "accepted" for r in results), results
    plan = buy_active_plan(member, 90, "premium", "BE")
    taken = take_leads(member, plan["id"])
    wait_for(lambda: len(member.get("/api/leads?origin=purchased")["items"]) == len(taken),
             what="the bought leads in the member's office")
    lead = member.get("/api/leads?origin=purchased")["items"][0]["id"]
    claim = member.post(f"/api/leads/{lead}/refund-claims",
                        {"reason": "fake_record", "comment": "nom fantaisiste"}, expect=201)
    payment = admin.post("/api/subscriptions", {"period": "monthly",
                                                "payment_method": "transfer"}, expect=201)
    today = platform_now(base_url).astimezone(PARIS).date()

    journey("staff", {
        "staff_email": DEV_STAFF[0], "staff_password": DEV_STAFF[1],
        "payment_id": payment["payment"]["id"], "claim_id": claim["id"],
        "member_email": member_email, "member_id": member.get("/api/me")["id"],
        "closure_start": (today + timedelta(days=60)).isoformat(),
        "closure_end": (today + timedelta(days=61)).isoformat(),
        "terms_version": f"staff-{tag}"})

    member = Api(base_url).login(member_email, MEMBER_PASSWORD)  # suspended: sessions ended
    for api in (admin, member):  # the journey published new terms
        api.post("/api/terms/accept", {"version": f"staff-{tag}"})
    assert admin.get(f"/api/payments/{payment['payment']['id']}")["status"] == "validated"
    assert member.get("/api/refund-claims")["items"][0]["status"] == "approved"
    closures = staff.get("/api/staff/sales-closures")["items"]
    assert closures[0]["countries"] == ["PT"] and closures[0]["tiers"] == ["premium"]
    revoked = [s for s in staff.get("/api/staff/capture-sites") if s["name"] == "Salon de Liège"]
    assert len(revoked) == 1 and revoked[0]["revoked_at"]
    assert Api(base_url).get("/api/terms/current")["version"] == f"staff-{tag}"
    found = staff.get("/api/staff/users", params={"q": member_email})["items"]
    assert [u["status"] for u in found] == ["active"]


def test_compliance_runs_an_erasure_and_declares_a_breach(journey: Any, base_url: str,
                                                         mailbox: Mailbox) -> None:
    tag = uuid.uuid4().hex[:8]
    staff, admin, _, _ = _network(base_url, mailbox)
    subscribe_by_card(admin, "annual")  # an office holding a lead: a controller to notify
    admin.post("/api/leads", {"first_name": "Claire", "last_name": "Dumont", "country": "BE",
                              "city": "Namur", "email": f"claire.{tag}@exemple.be",
                              "postal_code": "5000", "source_url": "https://salon.example",
                              "consent_at": datetime.now(UTC).isoformat()}, expect=201)
    email = f"dpo-{tag}@suivi.test"
    staff.post("/api/staff/users", {"email": email, "password": COMPLIANCE_PASSWORD,
                                    "role": "compliance"}, expect=201)
    body = Api(base_url).post("/api/auth/login", {"email": email,
                                                  "password": COMPLIANCE_PASSWORD}, expect=200)
    compliance = Api(base_url, body["token"])
    factor = enrol_totp(compliance)  # this session may then do everything
    now = platform_now(base_url).astimezone(PARIS)
    subject = f"subject-{tag}@example.org"

    journey("compliance", {
        "email": email, "password": COMPLIANCE_PASSWORD, "totp_secret": factor.secret,
        "subject_email": subject,
        "received_at": (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "detected_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "controller_id": admin.get("/api/me")["id"],
        "contract_start": (now + timedelta(days=40)).date().isoformat(),
        "effective_from": (now + timedelta(days=45)).strftime("%Y-%m-%dT%H:%M")})

    request = compliance.get("/api/compliance/requests")["items"][0]
    assert (request["kind"], request["status"]) == ("erasure", "completed")
    breach = compliance.get("/api/compliance/breaches")["items"][0]
    assert breach["nature"] == "Export envoyé au mauvais destinataire"
    assert breach["progress"]["notices"]["sent"] >= 1
    assert admin.get(f"/api/breaches/{breach['id']}")["id"] == breach["id"]
    changes = compliance.get("/api/compliance/subprocessors/changes")["items"]
    assert any(c["kind"] == "add" for c in changes)
