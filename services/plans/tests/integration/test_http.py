"""Over HTTP: the gateway's plans routes (``PlansRoutes``) in a small gateway with the
platform routes (dev clock, OpenAPI), in front of PlansService and the fakes. The
clock is moved by ``POST /api/dev/clock``, as the end-to-end tests will do."""
from __future__ import annotations

import socket
from datetime import date, datetime, timedelta
from typing import Any

import requests
from nameko.events import EventDispatcher
from nameko.rpc import ServiceRpc, rpc

from gateway.auth import Auth
from gateway.routes.plans import PlansRoutes
from gateway.routes.platform import PlatformRoutes
from plans.testing import wait_for
from suivi_common import clock


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT = _free_port()
BASE = f"http://127.0.0.1:{PORT}"


def _health(name: str) -> dict[str, Any]:
    return {"service": name, "status": "ok", "clock_offset_seconds": clock.offset_seconds()}


class MiniGateway(PlansRoutes, PlatformRoutes):
    name = "gateway"
    auth = Auth()
    dispatch = EventDispatcher()
    accounts = ServiceRpc("accounts")
    plans = ServiceRpc("plans")
    leads = ServiceRpc("leads")
    mailer = ServiceRpc("mailer")
    compliance = ServiceRpc("compliance")


class FakeMailer:
    name = "mailer"

    @rpc
    def health(self) -> dict[str, Any]:
        return _health(self.name)


class FakeCompliance:
    name = "compliance"

    @rpc
    def health(self) -> dict[str, Any]:
        return _health(self.name)


STACK_CONFIG = {"WEB_SERVER_ADDRESS": f"127.0.0.1:{PORT}", "AUTH_CACHE_SECONDS": 0}
EXTRA_SERVICES = (MiniGateway, FakeMailer, FakeCompliance)
TOKENS = {
    "tok-u1": {"user_id": "u1", "role": "user", "network_id": "net-1", "terms_accepted": True},
    "tok-u2": {"user_id": "u2", "role": "user", "network_id": "net-1", "terms_accepted": True},
    "tok-staff": {"user_id": "s1", "role": "staff", "network_id": None, "terms_accepted": True},
}
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n" + b"%" * (3 * 1024 * 1024) + b"\n%%EOF\n"  # a 3 MiB scan


class Http:
    def __init__(self, token: str | None) -> None:
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(BASE + path, params=params, headers=self.headers, timeout=15)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        if "files" in kwargs:
            return requests.post(BASE + path, headers=self.headers, timeout=15, **kwargs)
        return requests.post(BASE + path, json=body if body is not None else {},
                             headers=self.headers, timeout=15)


def set_day(day: date) -> None:
    instant = datetime(day.year, day.month, day.day, 10, tzinfo=clock.PARIS).isoformat()
    answer = requests.post(f"{BASE}/api/dev/clock", json={"now": instant}, timeout=15)
    assert answer.status_code == 200, answer.text
    assert clock.today() == day


def error(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["error"]


def setup(world: Any) -> tuple[Http, Http, Http]:
    world.fake.tokens.update(TOKENS)
    wait_for(lambda: requests.get(f"{BASE}/openapi.json", timeout=5).status_code == 200)
    return Http("tok-u1"), Http("tok-u2"), Http("tok-staff")


def test_a_plan_bought_by_card_runs_to_completion_over_http(world: Any) -> None:
    me, _, staff = setup(world)
    set_day(date(2026, 6, 1))
    quote = me.post("/api/plans/quote", {"records": 300, "tier": "standard", "country": "FR"})
    assert quote.json() == {"unit_price_cents": 250, "total_cents": 75000, "daily_quota": 10,
                            "days": 30, "records": 300, "tier": "standard", "country": "FR"}
    bought = me.post("/api/plans", {"records": 300, "tier": "standard", "country": "FR",
                                    "payment_method": "card"})
    assert bought.status_code == 201, bought.text
    plan = bought.json()
    assert plan["status"] == "pending_payment" and plan["payment"]["redirect_url"]
    world.pay(plan["payment"]["id"])  # the user paid at the card provider
    path = f"/api/plans/{plan['id']}"
    wait_for(lambda: me.get(path).json()["status"] == "active")

    changed = me.post(path + "/tier", {"tier": "premium"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["tier"] == "premium" and changed.json()["records_remaining"] == 187
    error(me.post(path + "/tier", {"tier": "standard"}), 409)  # once per day

    absence = me.post("/api/absences", {"start_date": "2026-06-08", "end_date": "2026-06-09"})
    assert absence.status_code == 201, absence.text
    closure = staff.post("/api/staff/sales-closures", {"start_date": "2026-06-11",
                                                      "end_date": "2026-06-11", "countries": ["FR"]})
    assert closure.status_code == 201 and closure.json()["plans_affected"] == 1
    view = me.get(path).json()
    assert view["end_date"] == "2026-07-03" and view["daily_quota"] == 7  # ceil(187 / 30)

    day = date(2026, 6, 1)
    while True:
        view = me.get(path).json()
        if view["status"] != "active":
            break
        world.fake.book.take(plan["id"], view["today"]["quota"])  # the user takes the quota
        day += timedelta(days=1)
        set_day(day)
        closed = staff.post("/api/staff/day-close", {"date": (day - timedelta(days=1)).isoformat()})
        assert closed.status_code == 200, closed.text
        wait_for(lambda d=day: me.get(path).json()["last_closed_date"] == (d - timedelta(days=1)).isoformat())
    assert view["status"] == "completed" and view["records_remaining"] == 0
    assert day == date(2026, 7, 4)
    forecast = staff.get("/api/staff/forecast", days=7).json()
    assert forecast["total"] == 0 and forecast["active_plans"] == 0


def test_force_majeure_with_a_proof_file_and_staff_decision_over_http(world: Any) -> None:
    me, other, staff = setup(world)
    set_day(date(2026, 6, 1))
    bought = me.post("/api/plans", {"records": 300, "tier": "standard", "country": "FR",
                                    "payment_method": "transfer"}).json()
    world.pay(bought["payment"]["id"])
    wait_for(lambda: me.get(f"/api/plans/{bought['id']}").json()["status"] == "active")
    set_day(date(2026, 6, 4))
    staff.post("/api/staff/day-close", {"date": "2026-06-03"})  # 3 days forfeited

    claim = me.post("/api/absences", {"start_date": "2026-06-01", "end_date": "2026-06-02",
                                      "force_majeure": True, "reason": "bereavement",
                                      "plan_id": bought["id"]})
    assert claim.status_code == 201, claim.text
    claim_id = claim.json()["id"]
    refused = me.post(f"/api/absences/{claim_id}/proof",
                      files={"file": ("proof.pdf", b"#!/bin/sh\nrm -rf /", "application/pdf")})
    assert error(refused, 400)["code"] == "proof_type_not_allowed"
    error(other.post(f"/api/absences/{claim_id}/proof", files={"file": ("p.pdf", PDF)}), 404)
    uploaded = me.post(f"/api/absences/{claim_id}/proof", files={"file": ("p.pdf", PDF)})
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["proof"]["mime"] == "application/pdf"
    too_big = me.post(f"/api/absences/{claim_id}/proof",
                      files={"file": ("p.pdf", b"%PDF-" + b"0" * (7 * 1024 * 1024))})
    assert error(too_big, 413)["code"] == "payload_too_large"

    pending = staff.get("/api/staff/absences", status="pending").json()["items"]
    assert [c["id"] for c in pending] == [claim_id]
    proof = staff.get(f"/api/staff/absences/{claim_id}/proof")
    assert proof.content == PDF and proof.headers["Content-Type"] == "application/pdf"
    decided = staff.post(f"/api/staff/absences/{claim_id}/decision",
                         {"approve": True, "comment": "Our condolences"})
    assert decided.status_code == 200 and decided.json()["records_restored"] == 20
    view = me.get(f"/api/plans/{bought['id']}").json()
    assert view["end_date"] == "2026-07-02" and view["records_remaining"] == 300 - 10

    assert me.get("/api/absences").json()["items"][0]["status"] == "approved"


def test_bad_requests_get_clear_errors_over_http(world: Any) -> None:
    me, other, staff = setup(world)
    set_day(date(2026, 6, 1))
    order = {"records": 300, "tier": "standard", "country": "FR", "payment_method": "card"}
    assert error(me.post("/api/plans", {**order, "tier": "gold"}), 400)["code"] == "tier_unknown"
    assert error(me.post("/api/plans", {**order, "country": "DE"}), 400)["code"] == "country_not_open"
    assert error(me.post("/api/plans", {**order, "records": 0}), 400)["code"] == "records_out_of_bounds"
    assert error(me.post("/api/plans", {**order, "records": 3001}), 400)["code"] == \
        "records_out_of_bounds"
    assert "records" in error(me.post("/api/plans", {**order, "records": "many"}), 400)["fields"]
    bad_dates = me.post("/api/absences", {"start_date": "2026-06-10", "end_date": "2026-06-05"})
    assert error(bad_dates, 400)["code"] == "absence_dates_order"
    error(staff.post("/api/plans", order), 403)
    error(Http(None).get("/api/plans"), 401)
    world.fake.accounts.offices["u1"] = False
    assert error(me.post("/api/plans", order), 403)["code"] == "office_inactive"
    world.fake.accounts.offices["u1"] = True

    mine = me.post("/api/plans", order).json()
    for response in (other.get(f"/api/plans/{mine['id']}"),
                     other.post(f"/api/plans/{mine['id']}/tier", {"tier": "premium"}),
                     other.post(f"/api/plans/{mine['id']}/cancel")):
        assert error(response, 404)["code"] == "not_found"
    assert other.get("/api/plans").json() == {"items": [], "next_cursor": None}
    assert me.get("/api/plans").json()["items"][0]["status"] == "pending_payment"
    cancelled = me.post(f"/api/plans/{mine['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"

    paths = requests.get(f"{BASE}/openapi.json", timeout=5).json()["paths"]
    for path in ("/api/plans/quote", "/api/plans/{plan_id}/extend", "/api/absences/{absence_id}/proof",
                 "/api/staff/day-close", "/api/staff/forecast", "/api/staff/sales-closures"):
        assert path in paths
