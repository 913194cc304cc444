"""Issue 2's end-to-end flow over HTTP against the real processes."""
from __future__ import annotations

from typing import Any

from tools.api_client import Api, Mailbox, subscribe_by_card


def test_network_onboarding_subscription_isolation_privacy_logout_ratelimit(
        base_url: str, staff: Api, mailbox: Mailbox, make_network: Any, invite_member: Any) -> None:
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

    # 8. the sixth wrong password in a row gets 429 with Retry-After
    anon = Api(base_url)
    email = member_api.email  # type: ignore[attr-defined]
    statuses = [anon.call("POST", "/api/auth/login", {"email": email, "password": "wrong-password!"})[0]
                for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    resp = anon.http.post(base_url + "/api/auth/login",
                          json={"email": email, "password": "Distinct-Violet-Pass-77"}, timeout=30)
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0


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


def test_staff_sees_dead_letters_across_services(staff: Api, anon: Api) -> None:
    page = staff.get("/api/staff/dead-letters")
    assert page["next_cursor"] is None and isinstance(page["items"], list)
    assert anon.call("GET", "/api/staff/dead-letters")[0] == 401
