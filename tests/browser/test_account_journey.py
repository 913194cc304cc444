"""The distributor's dashboard reminders and Mon compte in a real browser
(``journeys_account.account``): a subscription near its end and stale leads are reminded
on the dashboard; Mon compte links Gmail, enrols a second factor and terminates the account
after a confirmation.

Set-up goes through the JSON API and the platform's settable clock (``PlatformClock``, as
the end-to-end tests use it) rather than waiting: the member subscribes monthly today, keeps
two personal leads dated thirteen months back (the clock moved back while they are
created), then the clock stands two days before the subscription's last day. Afterwards
the API says the account is terminated (its login refused) and Gmail was linked.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from suivi_common.testing.waiting import wait_for
from tests.e2e.conftest import PlatformClock
from tools.api_client import Api, Mailbox, onboard, subscribe_by_card
from tools.platform import DEV_STAFF

MEMBER_PASSWORD = "Distinct-Amber-Pass-79"
ADMIN_PASSWORD = "Correct-Horse-Battery-44"
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def clock(base_url: str) -> Iterator[PlatformClock]:
    moved = PlatformClock(base_url)
    yield moved
    moved.reset()


def personal_lead(member: Api, last_name: str, tag: str, consent_at: datetime) -> str:
    lead = member.post("/api/leads", {
        "first_name": "Yann", "last_name": last_name, "country": "FR", "city": "Quimper",
        "postal_code": "29000", "email": f"{last_name.lower()}.{tag}@exemple.fr",
        "source_url": "https://salon.example", "consent_at": consent_at.isoformat()},
        expect=201)
    return str(lead["id"])


def office_open(member: Api) -> bool:
    return member.call("GET", "/api/leads")[0] == 200


def test_account_journey(journey: Any, base_url: str, mailbox: Mailbox,
                         clock: PlatformClock) -> None:
    tag = uuid.uuid4().hex[:8]
    staff = Api(base_url).login(*DEV_STAFF)
    admin_email, member_email = f"cadmin-{tag}@example.org", f"compte-{tag}@example.org"
    staff.post("/api/networks", {"name": f"Réseau compte {tag}", "admin": {
        "email": admin_email, "first_name": "Anne", "last_name": "Roux"}}, expect=201)
    admin = onboard(base_url, mailbox, admin_email, ADMIN_PASSWORD)
    admin.post("/api/network/members", {"email": member_email, "first_name": "Marie",
                                        "last_name": "Le Goff"}, expect=201)
    member = onboard(base_url, mailbox, member_email, MEMBER_PASSWORD)
    if not member.get("/api/me")["terms"]["accepted"]:  # another module may publish terms
        member.post("/api/terms/accept", {"version": member.get("/api/terms/current")["version"]})
    ends_on = date.fromisoformat(subscribe_by_card(member, "monthly")["ends_on"])
    wait_for(lambda: office_open(member), what="the office open in leads")

    long_ago = datetime.now(PARIS).date() - timedelta(days=400)
    clock(long_ago, 10)
    old = Api(base_url).login(member_email, MEMBER_PASSWORD)
    at = datetime(long_ago.year, long_ago.month, long_ago.day, 10, tzinfo=PARIS)
    stale = [personal_lead(old, f"Ancien{i}", tag, at) for i in range(2)]

    clock(ends_on - timedelta(days=2), 9)
    member = Api(base_url).login(member_email, MEMBER_PASSWORD)
    subscription = member.get("/api/me")["subscription"]
    assert subscription["ends_on"] == ends_on.isoformat()

    gmail_address = f"marie.{tag}@gmail.test"
    journey("account", {
        "member_email": member_email, "member_password": MEMBER_PASSWORD,
        "ends_on": ends_on.isoformat(), "stale_count": len(stale),
        "gmail_address": gmail_address, "clock_offset_seconds": clock.offset})

    status, body = Api(base_url).call("POST", "/api/auth/login",
                                      {"email": member_email, "password": MEMBER_PASSWORD})
    assert (status, body["error"]["code"]) == (403, "account_closed")  # terminated
    assert member.call("GET", "/api/me")[0] == 401  # its sessions revoked with it

