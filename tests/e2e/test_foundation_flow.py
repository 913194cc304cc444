"""Issue 2's end-to-end flow over HTTP against the real processes."""
from __future__ import annotations

import uuid
from typing import Any

from suivi_common import principals
from suivi_common.testing.messages import publish_event
from suivi_common.testing.waiting import wait_for
from tools.api_client import Api, Mailbox, subscribe_by_card
from tools.platform import Platform


def test_network_onboarding_subscription_isolation_privacy_logout_ratelimit(
        base_url: str, staff: Api, mailbox: Mailbox, make_network: Any, invite_member: Any,
        moved_clock: Any) -> None:
    # 1-2. staff creates a network; the admin gets the mail, sets a password, logs in,
    #      hits the terms gate, then accepts
    tag_net, admin = make_network()
    assert admin.get("/api/me")["role"] == "admin"
    _, gated = invite_member(admin, accept_terms=False)
    status, body = gated.call("GET", "/api/network")
    assert status == 403 and body["error"]["code"] == "terms_not_accepted"
    me = gated.get("/api/me")  # allowed through the gate
    assert me["terms"]["accepted"] is False
    gated.post("/api/terms/accept", {"version": me["terms"]["current_version"]})
    assert gated.get("/api/network")["id"] == tag_net["id"]
    assert gated.get("/api/me")["contract_concluded_at"]

    # 3-4. the admin invites a member, who subscribes by card and becomes active
    member, member_api = invite_member(admin)
    sub = subscribe_by_card(member_api)
    assert sub["status"] == "active"
    payment_id = member_api.get("/api/subscriptions")["items"][0]["payment"]["id"]

    # 5. another member edits an id in a URL: 404, never the data
    _, other = invite_member(admin)
    for method, path in (("GET", f"/api/payments/{payment_id}"),
                         ("POST", f"/api/subscriptions/{sub['id']}/withdraw")):
        status, body = other.call(method, path)
        assert status == 404, (path, status, body)
        assert payment_id not in str(body)
    # an admin of another network cannot see this network's member either
    _, other_admin = make_network()
    status, _ = other_admin.call("GET", f"/api/network/members/{member['id']}")
    assert status == 404

    # 6. the admin sees the member's office until the member turns privacy on
    office = admin.get(f"/api/network/members/{member['id']}/office")
    assert office["member"]["id"] == member["id"]
    member_api.patch("/api/me/privacy", {"admin_access": False})
    status, body = admin.call("GET", f"/api/network/members/{member['id']}/office")
    assert status == 403 and body["error"]["code"] == "admin_access_refused"

    # 7. logout kills the token at once
    member_api.post("/api/auth/logout")
    status, body = member_api.call("GET", "/api/me")
    assert status == 401

    # 8. wrong passwords in a row: five are free (401); past them each failure asks for a
    #    doubling wait (1 s, 2 s, 4 s...), and an attempt inside it is refused: 429 with
    #    Retry-After. The platform clock jumps past each wait to fail once more, until the
    #    wait is 32 s: no request outlasts that, however busy the machine, so the next
    #    attempt is refused, even with the right password. (From an address of its own:
    #    the failures must not slow the other tests' logins.)
    email = member_api.email  # type: ignore[attr-defined]
    client = {"X-Forwarded-For": "198.51.100.8"}

    def login(password: str) -> Any:
        return Api(base_url).http.post(base_url + "/api/auth/login", headers=client, timeout=60,
                                       json={"email": email, "password": password})
    assert [login("wrong-password!").status_code for _ in range(5)] == [401] * 5
    for wait in (1, 2, 4, 8, 16):
        moved_clock.forward(wait)  # the wait the last failure asked for is over
        assert login("wrong-password!").status_code == 401
    for password in ("wrong-password!", "Distinct-Violet-Pass-77"):
        resp = login(password)
        assert resp.status_code == 429 and 0 < int(resp.headers["Retry-After"]) <= 32


def test_staff_only_routes_refuse_members(make_network: Any) -> None:
    _, admin = make_network()
    status, body = admin.call("POST", "/api/networks", {"name": "x", "admin": {
        "email": "x@example.org", "first_name": "x", "last_name": "y"}})
    assert status == 403
    status, body = admin.call("POST", "/api/staff/terms", {"version": "x", "text": "y"})
    assert status == 403


def test_transfer_payment_needs_staff_validation(staff: Api, make_network: Any) -> None:
    _, admin = make_network()
    sub = admin.post("/api/subscriptions", {"period": "quarterly", "payment_method": "transfer"},
                     expect=201)
    assert sub["status"] == "pending_payment" and not sub["payment"].get("redirect_url")
    assert (admin.get("/api/me").get("subscription") or {}).get("status") != "active"
    status, body = admin.call("POST", "/api/subscriptions",
                              {"period": "monthly", "payment_method": "mandate"})
    assert status == 400 and "payment_method" in str(body)
    staff.post(f"/api/staff/payments/{sub['payment']['id']}/validate", expect=200)
    assert admin.get("/api/me")["subscription"]["status"] == "active"


def test_card_callback_with_bad_signature_is_refused(anon: Api) -> None:
    status, body = anon.call("POST", "/api/payments/card-callback",
                             data=b'{"payment_id":"x","provider_ref":"y","status":"succeeded",'
                                  b'"amount_cents":1}',
                             headers={"X-Signature": "0" * 64, "Content-Type": "application/json"})
    assert status == 401 and body["error"]["code"] == "bad_signature"


def test_new_terms_version_gates_everyone_again(staff: Api, mailbox: Mailbox, make_network: Any,
                                                unique: str) -> None:
    _, admin = make_network()
    version = f"2026-{unique}"
    staff.post("/api/staff/terms", {"version": version, "text": "Nouvelles CGU"}, expect=201)
    status, body = admin.call("GET", "/api/network")
    assert status == 403 and body["error"]["code"] == "terms_not_accepted"
    mailbox.wait_for(admin.email, "")  # type: ignore[attr-defined]
    admin.post("/api/terms/accept", {"version": version})
    assert admin.get("/api/network")


def test_refusing_new_terms_still_allows_termination(staff: Api, make_network: Any,
                                                     invite_member: Any, unique: str) -> None:
    _, admin = make_network()
    _, member = invite_member(admin)
    staff.post("/api/staff/terms", {"version": f"refuse-{unique}", "text": "CGU v3"}, expect=201)
    assert member.call("GET", "/api/network")[0] == 403
    member.post("/api/me/terminate")
    assert member.call("GET", "/api/me")[0] == 401  # sessions revoked with the account


def test_staff_sees_dead_letters_across_services(platform: Platform, staff: Api, anon: Api,
                                                 make_network: Any) -> None:
    """Two events no handler can apply, published as their source services' relays would
    (signed with the platform's key): accounts cannot find the payment a refund is due
    on, plans refuses a day close with negative takes. After their retries each is a
    dead letter, and the staff's one listing shows both, each under its service."""
    key = principals.ensure_key_file(platform.principal_key_file)

    def publish(source: str, event_type: str, payload: dict[str, Any]) -> str:
        mid = str(uuid.uuid4())
        token = principals.signer(key).sign(principals.service_principal(source),
                                            principals.event_audience(mid))
        publish_event(platform.amqp_uri, source, event_type, payload, mid, signed=False,
                      headers={f"nameko.{principals.PRINCIPAL_KEY}": token})
        return mid

    refund = publish("plans", "plan_refund_due", {
        "plan_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "network_id": None,
        "payment_id": str(uuid.uuid4()), "order_type": "plan", "order_id": str(uuid.uuid4()),
        "amount_cents": 4500, "reason": "plan withdrawn"})
    closed = publish("leads", "plan_day_closed", {
        "plan_id": str(uuid.uuid4()), "date": "2027-01-04", "taken": -1, "shortfall": 0})

    last: dict[str, Any] = {}

    def mine() -> dict[str, dict[str, Any]]:
        last["page"] = staff.get("/api/staff/dead-letters")
        return {i["message_id"]: i for i in last["page"]["items"]
                if i["message_id"] in (refund, closed)}

    wait_for(lambda: len(mine()) == 2, what="both dead letters listed")
    page = last["page"]  # a service too slow to answer is named in "unavailable", not a 504
    assert page["next_cursor"] is None
    assert not {"accounts", "plans"} & set(page["unavailable"])
    letters = {m: i for m, i in ((i["message_id"], i) for i in page["items"])
               if m in (refund, closed)}
    assert (letters[refund]["service"], letters[refund]["handler"]) == (
        "accounts", "accounts.on_plan_refund_due")
    assert (letters[closed]["service"], letters[closed]["handler"]) == (
        "plans", "plans.on_plan_day_closed")
    assert letters[refund]["attempts"] == letters[closed]["attempts"] == 4  # 3 retries (conftest)
    assert "unknown payment" in letters[refund]["error"]
    assert anon.call("GET", "/api/staff/dead-letters")[0] == 401
    _, admin = make_network()
    assert admin.call("GET", "/api/staff/dead-letters")[0] == 403
