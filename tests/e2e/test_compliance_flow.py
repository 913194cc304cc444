"""Compliance over HTTP, as compliance staff would work, on the whole platform.

The other services do not handle data-subject tasks, breach scopes or data maps yet (their
contracts are in ``services/compliance/README.md``), so this checks what compliance does
on its own: its role, the audit trail fed by real staff decisions, requests up to their
fan-out, a breach kept while leads cannot count it, sub-processors and the register."""
from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import datetime, timedelta
from typing import Any

import pytest

from suivi_common.testing.waiting import wait_for
from tests.e2e.scenario import step, wait_until
from tools.api_client import Api, login_staff

PASSWORD = "Compliance-Owl-Lantern-58"


def platform_now(api: Api) -> datetime:
    """The compliance service's clock (other tests move the platform's dev clock)."""
    status, body = api.call("GET", "/health")
    return datetime.fromisoformat(body["services"]["compliance"]["now"])


@pytest.fixture
def compliance(base_url: str, staff: Api) -> Api:
    email = f"dpo-{uuid.uuid4().hex[:8]}@suivi.test"
    staff.post("/api/staff/users", {"email": email, "password": PASSWORD, "role": "compliance"},
               expect=201)
    return login_staff(base_url, email, PASSWORD)  # enrols its second factor


def test_compliance_routes_are_for_the_compliance_role(compliance: Api, staff: Api, anon: Api,
                                                       make_network: Any) -> None:
    _, admin = make_network()
    assert compliance.get("/api/compliance/audit")["items"] is not None
    for who in (staff, admin):
        status, body = who.call("GET", "/api/compliance/audit")
        assert status == 403 and body["error"]["code"] == "forbidden_role"
    assert anon.call("GET", "/api/compliance/requests")[0] == 401


def test_a_staff_payment_decision_lands_in_the_audit_trail(compliance: Api, staff: Api,
                                                           make_network: Any) -> None:
    _, admin = make_network()
    sub = admin.post("/api/subscriptions", {"period": "monthly", "payment_method": "transfer"},
                     expect=201)
    payment_id = sub["payment"]["id"]
    staff.post(f"/api/staff/payments/{payment_id}/validate", expect=200)

    def audited() -> Any:
        items = compliance.get("/api/compliance/audit?kind=payment.validated&limit=500")["items"]
        return next((e for e in items if e["subject"]["id"] == payment_id), None)

    entry = wait_for(audited, what="payment.validated audited")
    assert entry["details"]["amount_cents"] == sub["payment"]["amount_cents"]
    report = compliance.get("/api/compliance/audit/verify")
    assert report["ok"] is True and report["entries_checked"] >= 1


def test_a_data_subject_request_is_registered_and_fanned_out(compliance: Api) -> None:
    status, body = compliance.call("POST", "/api/compliance/requests", {
        "kind": "erasure", "received_at": "2026-01-31T10:00:00+01:00"})
    assert status == 400 and {"email", "phone"} <= set(body["error"]["fields"])
    status, body = compliance.call("POST", "/api/compliance/requests", {
        "kind": "forget", "email": "a@b.fr", "received_at": "2026-01-31T10:00:00+01:00"})
    assert status == 400 and "kind" in body["error"]["fields"]
    received = (platform_now(compliance) - timedelta(days=1)).isoformat()
    request = compliance.post("/api/compliance/requests", {
        "kind": "erasure", "email": "Jeanne.Durand@Example.org", "phone": "06 12 34 56 78",
        "received_at": received, "note": "Courrier du 30"}, expect=201)
    assert request["status"] == "received" and request["email"] == "jeanne.durand@example.org"
    assert request["phone"] == "+33612345678"
    # before the fan-out: every holding service answers its task quickly now, so the
    # request may be closed a moment after it is processed
    status, body = compliance.call("GET", f"/api/compliance/requests/{request['id']}/receipt")
    assert status == 409 and body["error"]["code"] == "request_not_closed"
    extended = compliance.post(f"/api/compliance/requests/{request['id']}/extensions",
                               {"months": 2, "reason": "Plusieurs réseaux à interroger"})
    assert extended["extension_months"] == 2
    status, _ = compliance.call("POST", f"/api/compliance/requests/{request['id']}/extensions",
                                {"months": 1, "reason": "encore"})
    assert status == 409
    started = compliance.post(f"/api/compliance/requests/{request['id']}/process", expect=200)
    assert started["status"] in ("in_progress", "completed")
    assert sorted(t["service"] for t in started["tasks"]) == ["accounts", "leads", "mailer",
                                                              "plans"]
    listed = compliance.get("/api/compliance/requests?limit=500")["items"]
    assert request["id"] in [r["id"] for r in listed]
    assert compliance.call("GET", f"/api/compliance/requests/{uuid.uuid4()}")[0] == 404


def test_a_breach_is_counted_from_the_data_at_once(compliance: Api,
                                                   make_network: Any) -> None:
    """leads.breach_scope answers: a network whose offices hold no lead has no controller
    to notify, and the count is no error."""
    network, admin = make_network()
    breach = compliance.post("/api/compliance/breaches", {
        "nature": "Sauvegarde exposée", "detected_at": platform_now(compliance).isoformat(),
        "data_categories": ["email"], "services": ["leads"],
        "scope": {"kind": "networks", "ids": [network["id"]]},
        "likely_consequences": "Hameçonnage", "measures_taken": "Accès coupé"}, expect=201)
    assert breach["countdown"]["seconds_remaining"] > 71 * 3600
    assert breach["progress"]["controllers"] == 0 and not breach["count_error"]
    assert admin.call("GET", f"/api/breaches/{breach['id']}")[0] == 404
    status, body = compliance.call("POST", "/api/compliance/breaches", {
        "nature": "x", "detected_at": platform_now(compliance).isoformat(),
        "data_categories": ["dna"],
        "services": ["leads"], "scope": {"kind": "all"}, "likely_consequences": "x",
        "measures_taken": "x"})
    assert status == 400 and "data_categories" in body["error"]["fields"]


def test_a_controller_objects_to_an_announced_sub_processor(compliance: Api,
                                                            make_network: Any) -> None:
    _, admin = make_network()
    name = f"Hébergeur {uuid.uuid4().hex[:6]}"
    change = compliance.post("/api/compliance/subprocessors/changes", {
        "kind": "add", "name": name, "contact": "dpo@hebergeur.example",
        "activity": "Hébergement", "country": "FR", "contract_start": "2026-04-01",
        "effective_from": (platform_now(compliance) + timedelta(days=31)).isoformat()},
        expect=201)
    status, body = compliance.call("POST", "/api/compliance/subprocessors/changes", {
        "kind": "add", "name": "Trop tôt", "contact": "x", "activity": "x", "country": "FR",
        "contract_start": "2026-04-01",
        "effective_from": (platform_now(compliance) + timedelta(days=2)).isoformat()})
    assert status == 400 and "effective_from" in body["error"]["fields"]
    listed = {s["name"]: s for s in admin.get("/api/subprocessors")["items"]}
    assert listed[name]["status"] == "announced"
    admin.post(f"/api/subprocessors/changes/{change['id']}/objection",
               {"reason": "Pas d'hébergement hors contrat"}, expect=201)
    assert {s["name"]: s for s in admin.get("/api/subprocessors")["items"]}[name]["objected"]
    seen = compliance.get(f"/api/compliance/subprocessors/changes/{change['id']}/objections")
    assert [o["reason"] for o in seen["items"]] == ["Pas d'hébergement hors contrat"]


def test_the_register_is_generated(compliance: Api) -> None:
    register = compliance.get("/api/compliance/register")
    assert {"accounts", "compliance", "leads", "mailer", "plans"} <= set(register["declared_by"])
    # every service that holds personal data is either declared or listed as missing
    assert {"accounts", "plans", "mailer"} <= set(register["declared_by"]) | set(
        register["missing"])
    status, page = compliance.call("GET", "/api/compliance/register.html")
    assert status == 200 and b"Registre des cat" in page


def test_an_access_request_about_a_user_is_exported(compliance: Api, staff: Api,
                                                    make_network: Any,
                                                    invite_member: Any) -> None:
    """An access request for a member's address: accounts, plans, leads and the mailer look
    for them and report; once every one has answered, the export downloads."""
    _, admin = make_network()
    _, member = invite_member(admin)
    email = member.email
    with step("an access request is registered; no export before it completes"):
        request = compliance.post("/api/compliance/requests", {
            "kind": "access", "email": email,
            "received_at": (platform_now(compliance) - timedelta(hours=1)).isoformat()},
            expect=201)
        path = f"/api/compliance/requests/{request['id']}/export"
        status, body = compliance.call("GET", path)
        assert status == 409 and body["error"]["code"] == "request_not_completed"
        assert staff.call("GET", path)[0] == 403
        assert compliance.call("GET", f"/api/compliance/requests/{uuid.uuid4()}/export")[0] \
            == 404
        compliance.post(f"/api/compliance/requests/{request['id']}/process", expect=200)

    with step("every holding service reports what it found"):
        view = wait_until(lambda: compliance.get(f"/api/compliance/requests/{request['id']}"),
                          lambda v: v["status"] == "completed")
        tasks = {t["service"]: t for t in view["tasks"]}
        assert {t["status"] for t in tasks.values()} == {"done"}, tasks
        assert tasks["accounts"]["found"] is True and tasks["accounts"]["records_affected"] >= 1

    with step("the export downloads as a ZIP whose JSON names the account's email"):
        receipt = compliance.get(f"/api/compliance/requests/{request['id']}/receipt")
        assert receipt["export"]["available"] is True and receipt["export"]["available_until"]
        resp = compliance.http.get(compliance.base_url + path, timeout=60,
                                   headers={"Authorization": f"Bearer {compliance.token}"})
        assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/zip"
        assert resp.headers["Content-Disposition"] == (
            f'attachment; filename="export-access-{request["id"]}.zip"')
        with zipfile.ZipFile(io.BytesIO(resp.content)) as archive:
            doc = json.loads(archive.read("export.json"))
            assert "csv/accounts/accounts.csv" in archive.namelist()
        accounts = doc["services"]["accounts"]["data"]["accounts"]
        assert [a["profile"]["email"] for a in accounts] == [email]
        assert doc["processing"]["activities"] and doc["processing"]["purposes"]
