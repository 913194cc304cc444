"""The gateway's leads routes over real HTTP (stub authentication, real leads service)."""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Any

from leads import testing
from suivi_common import clock
from suivi_common.testing import infra


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call(base: str, method: str, path: str, body: Any = None, token: str | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def test_leads_routes_end_to_end(stack, cfg) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gateway_cls = testing.stub_gateway_class()
    with infra.running({**cfg, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"}, gateway_cls):
        staff = "staff:staff-1:"
        status, site = call(base, "POST", "/api/staff/capture-sites",
                            {"name": "Form", "url": "https://form.example.fr"}, staff)
        assert status == 201 and site["key"].startswith("lck_")
        status, _ = call(base, "POST", "/api/staff/capture-sites",
                         {"name": "Form", "url": "https://x.fr"}, "user:u1:net-1")
        assert status == 403
        items = [testing.raw_lead(i) for i in range(1000)]
        items[3] = {"first_name": "x"}
        status, body = call(base, "POST", "/api/capture/leads", {"leads": items},
                            headers={"X-Capture-Key": site["key"]})
        assert status == 200 and len(body["results"]) == 1000
        assert body["results"][3]["status"] == "rejected" and "errors" in body["results"][3]
        assert body["results"][0]["status"] == "accepted" and "errors" not in body["results"][0]
        status, body = call(base, "POST", "/api/capture/leads", {"leads": items[:1]})
        assert (status, body["error"]["code"]) == (401, "capture_key_missing")
        status, body = call(base, "POST", "/api/capture/leads", {"leads": items[:1]},
                            headers={"X-Capture-Key": "lck_nope"})
        assert (status, body["error"]["code"]) == (401, "capture_key_invalid")
        status, body = call(base, "POST", "/api/capture/leads", {"leads": items + items[:1]},
                            headers={"X-Capture-Key": site["key"]})
        assert status == 400

        stack.plan("p1", "u1", {clock.today(): 3})
        status, body = call(base, "POST", "/api/plans/p1/take", {"max": 2}, "user:u1:net-1")
        assert status == 200 and len(body["leads"]) == 2 and body["taken_today"] == 2
        assert body["leads"][0]["email"].endswith("@example.fr")
        status, body = call(base, "POST", "/api/plans/p1/take", None, "user:u2:net-1")
        assert status == 404
        stack.office("u1", False)
        status, body = call(base, "POST", "/api/plans/p1/take", {}, "user:u1:net-1")
        assert (status, body["error"]["code"]) == (403, "office_inactive")
        status, body = call(base, "GET", "/api/staff/stock", None, staff)
        assert status == 200 and body["items"][0]["demand_today"] == 1
        status, body = call(base, "PUT", "/api/plans/p1/auto-delivery", {"enabled": True},
                            "user:u1:net-1")
        assert (status, body) == (200, {"plan_id": "p1", "auto_delivery": True})
        status, body = call(base, "GET", "/api/staff/stock/alerts?date=2020-01-01", None, staff)
        assert (status, body["items"]) == (200, [])
