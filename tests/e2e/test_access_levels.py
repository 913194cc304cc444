"""Access levels that work (issue 13 4), over HTTP: for each permission whose action exists
today, a member whose level lacks it is refused with ``403 permission_denied`` naming it,
and allowed once the admin puts it back in the level (``PUT /api/network/access-levels``);
levels are deleted only with a replacement for their holders. Plus the smaller gaps of 7:
a refund staff mark made, and plans refused during a sales closure."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from suivi_common import clock
from suivi_common.permissions import ALL
from tests.e2e.scenario import wait_until
from tools.api_client import Api, Mailbox, onboard, pay_by_card, subscribe_by_card
from tools.platform import DEV_STAFF

PASSWORD = "Lantern-Orchid-Summit-83"


class Office:
    """One network: its admin, a subscribed member on a level of their own, an active
    plan of theirs in FR and one of their leads."""

    def __init__(self, base_url: str, mailbox: Mailbox) -> None:
        tag = uuid.uuid4().hex[:8]
        self.base_url, self.mailbox = base_url, mailbox
        self.staff = Api(base_url).login(*DEV_STAFF)
        admin_email = f"admin-{tag}@example.org"
        self.staff.post("/api/networks", {"name": f"Niveaux {tag}", "admin": {
            "email": admin_email, "first_name": "Alice", "last_name": "Martin"}}, expect=201)
        self.admin = onboard(base_url, mailbox, admin_email, PASSWORD)
        self.admin.put("/api/network/settings", {"open_countries": ["FR", "BE", "LU"]})
        self.member_email = f"member-{tag}@example.org"
        self.member_id = self.admin.post("/api/network/members", {
            "email": self.member_email, "first_name": "Bruno", "last_name": "Durand"},
            expect=201)["id"]
        self.member = onboard(base_url, mailbox, self.member_email, PASSWORD)
        subscribe_by_card(self.member)
        self.level = self.admin.post("/api/network/access-levels", {
            "name": "Membre", "permissions": list(ALL)}, expect=201)
        self.admin.put(f"/api/network/members/{self.member_id}/access-level",
                       {"access_level_id": self.level["id"]})
        plan = self.member.post("/api/plans", {"records": 60, "tier": "standard",
                                               "country": "FR", "payment_method": "card"},
                                expect=201)
        pay_by_card(plan["payment"])
        self.plan_id = plan["id"]
        wait_until(lambda: self.member.get(f"/api/plans/{self.plan_id}"),
                   lambda p: p["status"] == "active")
        wait_until(lambda: self.member.call("POST", f"/api/plans/{self.plan_id}/take", {})[0],
                   lambda status: status == 200)  # leads holds the plan's entitlement
        self.lead_id = self.member.post("/api/leads", {
            "first_name": "Sophie", "last_name": "Marchand", "country": "FR",
            "email": f"sophie.{tag}@exemple.fr", "city": "Rennes", "postal_code": "35000",
            "source_url": "https://salon.example",
            "consent_at": datetime.now(UTC).isoformat()}, expect=201)["id"]

    def grant(self, permissions: list[str]) -> None:
        """The admin rewrites the member's level; the member's next request carries it."""
        self.admin.put(f"/api/network/access-levels/{self.level['id']}",
                       {"name": "Membre", "permissions": permissions})

    def without(self, permission: str) -> None:
        self.grant([p for p in ALL if p != permission])


@pytest.fixture(scope="module")
def office(base_url: str, mailbox: Mailbox) -> Office:
    return Office(base_url, mailbox)


def refused_then_allowed(office: Office, permission: str,
                         act: Callable[[], tuple[int, Any]], allowed: int) -> Any:
    office.without(permission)
    try:
        status, body = act()
        assert status == 403, body
        assert body["error"]["code"] == "permission_denied"
        assert body["error"]["permission"] == permission
    finally:
        office.grant(list(ALL))
    status, body = act()
    assert status == allowed, body
    return body


def test_buy_leads(office: Office) -> None:
    order = {"records": 30, "tier": "standard", "country": "BE", "payment_method": "transfer"}
    body = refused_then_allowed(office, "buy_leads",
                                lambda: office.member.call("POST", "/api/plans", order), 201)
    assert body["status"] == "pending_payment"
    office.without("buy_leads")
    try:  # extending a plan is buying too
        status, err = office.member.call("POST", f"/api/plans/{office.plan_id}/extend",
                                         {"records": 30, "payment_method": "transfer"})
        assert (status, err["error"]["permission"]) == (403, "buy_leads")
    finally:
        office.grant(list(ALL))


def test_take_leads(office: Office) -> None:
    path = f"/api/plans/{office.plan_id}/take"
    body = refused_then_allowed(office, "take_leads",
                                lambda: office.member.call("POST", path, {}), 200)
    assert "taken_today" in body


def test_export_leads(office: Office) -> None:
    def export() -> tuple[int, Any]:
        resp = office.member.http.get(f"{office.base_url}/api/leads/export.csv",
                                      headers={"Authorization": f"Bearer {office.member.token}"},
                                      timeout=60)
        is_json = resp.headers.get("Content-Type", "").startswith("application/json")
        return resp.status_code, resp.json() if is_json else resp.text

    csv = refused_then_allowed(office, "export_leads", export, 200)
    assert "Marchand" in csv


def test_send_email(office: Office) -> None:
    path = f"/api/leads/{office.lead_id}/emails"
    body = refused_then_allowed(
        office, "send_email",
        lambda: office.member.call("POST", path, {"subject": "Bonjour", "body": "Bonjour !"}), 202)
    assert body["status"] in ("queued", "sending", "sent")


def test_use_automations(office: Office) -> None:
    body = refused_then_allowed(
        office, "use_automations",
        lambda: office.member.call("PUT", "/api/me/automations", {"paused": True}), 200)
    assert body["paused"] is True


def test_a_level_lacking_export_leads_refuses_export_even_for_a_member_on_it_by_default(
        office: Office) -> None:
    """The default level is a level like the others: narrowed, it binds the members who
    hold it without a level of their own."""
    levels = office.admin.get("/api/network/access-levels")["items"]
    (default,) = [x for x in levels if x["is_default"]]
    assert default["permissions"] == list(ALL)  # a new network's default grants everything
    office.admin.put(f"/api/network/members/{office.member_id}/access-level",
                     {"access_level_id": None})
    office.admin.put(f"/api/network/access-levels/{default['id']}",
                     {"name": default["name"], "permissions": ["buy_leads"]})
    try:
        status, body = office.member.call("GET", "/api/leads/export.xlsx")
        assert (status, body["error"]["permission"]) == (403, "export_leads")
    finally:
        office.admin.put(f"/api/network/access-levels/{default['id']}",
                         {"name": default["name"], "permissions": list(ALL)})
        office.admin.put(f"/api/network/members/{office.member_id}/access-level",
                         {"access_level_id": office.level["id"]})


def test_a_held_level_is_deleted_only_with_a_replacement(office: Office) -> None:
    admin = office.admin
    spare = admin.post("/api/network/access-levels",
                       {"name": "Relève", "permissions": ["take_leads"]}, expect=201)
    path = f"/api/network/access-levels/{office.level['id']}"
    status, body = admin.call("DELETE", path)
    assert status == 409 and body["error"]["code"] == "access_level_in_use"
    status, body = admin.call("DELETE", f"{path}?replacement_id={office.level['id']}")
    assert status == 400 and body["error"]["code"] == "replacement_invalid"
    assert office.member.call("DELETE", f"{path}?replacement_id={spare['id']}")[0] == 403
    # the spare level takes the member: refused what it does not grant, at once
    admin.put(f"/api/network/access-levels/{spare['id']}",
              {"name": "Relève", "permissions": ["take_leads", "export_leads"]})
    moved = admin.call("DELETE", f"/api/network/access-levels/{spare['id']}"
                                 f"?replacement_id={office.level['id']}")
    assert moved[0] == 200 and moved[1]["members_moved"] == 0
    again = admin.post("/api/network/access-levels",
                       {"name": "Relève", "permissions": ["take_leads"]}, expect=201)
    done = admin.call("DELETE", f"{path}?replacement_id={again['id']}")
    assert done[0] == 200 and done[1]["members_moved"] == 1
    status, body = office.member.call("PUT", "/api/me/automations", {"paused": False})
    assert (status, body["error"]["permission"]) == (403, "use_automations")
    member = admin.get(f"/api/network/members/{office.member_id}")
    assert member["access_level_id"] == again["id"]
    office.level = admin.put(f"/api/network/access-levels/{again['id']}",
                             {"name": "Membre", "permissions": list(ALL)})


def test_a_due_refund_ends_refunded(office: Office) -> None:
    """Staff mark a due refund made with its reference; the refunded tab lists it."""
    sub = office.admin.post("/api/subscriptions", {"period": "monthly",
                                                   "payment_method": "card"}, expect=201)
    pay_by_card(sub["payment"])
    payment_id = sub["payment"]["id"]
    wait_until(lambda: office.admin.get(f"/api/payments/{payment_id}"),
               lambda p: p["status"] == "validated")
    office.admin.post(f"/api/subscriptions/{sub['id']}/withdraw", expect=200)
    due = office.staff.get("/api/staff/payments?refund_status=due")["items"]
    assert payment_id in {p["id"] for p in due}
    status, body = office.staff.call("POST", f"/api/staff/payments/{payment_id}/refunded", {})
    assert status == 400
    made = office.staff.post(f"/api/staff/payments/{payment_id}/refunded",
                             {"reference": "VIR-2026-0042"})
    assert made["refund_status"] == "refunded" and made["refund_reference"] == "VIR-2026-0042"
    refunded = office.staff.get("/api/staff/payments?status=refunded&limit=500")["items"]
    assert payment_id in {p["id"] for p in refunded}
    assert all(p["refund_status"] == "refunded" for p in refunded)
    status, body = office.staff.call("POST", f"/api/staff/payments/{payment_id}/refunded",
                                     {"reference": "CHQ-1"})
    assert status == 409 and body["error"]["code"] == "refund_already_made"
    assert office.admin.get(f"/api/payments/{payment_id}")["refund_status"] == "refunded"


def test_plans_are_refused_during_a_sales_closure(office: Office) -> None:
    today = clock.today()
    office.staff.post("/api/staff/sales-closures", {
        "start_date": today.isoformat(), "end_date": (today + timedelta(days=2)).isoformat(),
        "countries": ["LU"], "reason": "stock"}, expect=201)
    status, body = office.member.call("POST", "/api/plans", {
        "records": 30, "tier": "premium", "country": "LU", "payment_method": "transfer"})
    assert status == 409 and body["error"]["code"] == "sales_closed"
    assert body["error"]["fields"]["reopens_on"] == (today + timedelta(days=3)).isoformat()
    assert office.member.call("POST", "/api/plans", {  # FR stays open
        "records": 30, "tier": "premium", "country": "FR", "payment_method": "transfer"})[0] == 201


def test_tokens_change_with_the_level(office: Office) -> None:
    """Each change of the level binds the very next request (the gateway's cache of token
    checks is off in these tests; its eviction on a change is a unit test of the gateway)."""
    for _ in range(2):
        office.without("take_leads")
        assert office.member.call("POST", f"/api/plans/{office.plan_id}/take", {})[0] == 403
        office.grant(list(ALL))
        assert office.member.call("POST", f"/api/plans/{office.plan_id}/take", {})[0] == 200
