"""Statistics models over HTTP (issue 13 §5, admin tool 3): the admin defines models; a
member reads each on their own data; the admin reads them for the network, one by one
only for the members whose admin-access switch is on (terms art. 5), the others in one
``others`` group; a member whose level lacks ``view_statistics`` gets a 403; the figures
come as JSON, CSV and an SVG chart; another network's model is a 404 and bad input a 400
naming the field."""
from __future__ import annotations

import csv
import io
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from suivi_common.permissions import ALL, VIEW_STATISTICS
from tests.e2e.scenario import step
from tools.api_client import Api, subscribe_by_card


def add_leads(member: Api, n: int, tag: str) -> list[str]:
    ids = []
    for i in range(n):
        ids.append(member.post("/api/leads", {
            "first_name": "Sophie", "last_name": f"Marchand{i}", "country": "FR",
            "email": f"sophie.{i}.{tag}@exemple.fr", "city": "Rennes", "postal_code": "35000",
            "source_url": "https://salon.example",
            "consent_at": datetime.now(UTC).isoformat()}, expect=201)["id"])
    return ids


def points(figures: dict[str, Any]) -> dict[tuple[str, str], float]:
    return {(s["name"], p["x"]): p["value"] for s in figures["series"] for p in s["points"]}


def test_statistics_models_privacy_formats_and_isolation(make_network: Any, invite_member: Any,
                                                        base_url: str) -> None:
    tag = uuid.uuid4().hex[:8]
    _, admin = make_network()
    open_ref, open_member = invite_member(admin)
    closed_ref, closed_member = invite_member(admin)
    for m in (open_member, closed_member):
        subscribe_by_card(m)
    open_leads = add_leads(open_member, 3, tag + "o")
    add_leads(closed_member, 2, tag + "c")
    open_member.post(f"/api/leads/{open_leads[0]}/status", {"status": "client"})
    closed_member.call("PATCH", "/api/me/privacy", {"admin_access": False}, expect=200)

    with step("the admin defines models; members may not"):
        per_member = admin.post("/api/network/stat-models", {
            "name": "Leads par membre", "metric": "leads_received", "grouping": "member",
            "window_days": 7}, expect=201)
        won = admin.post("/api/network/stat-models", {
            "name": "Gagnés par mois", "metric": "leads_final", "grouping": "month"},
            expect=201)
        by_status = admin.post("/api/network/stat-models", {
            "name": "Statuts", "metric": "leads_received", "grouping": "status"}, expect=201)
        assert open_member.call("POST", "/api/network/stat-models", {
            "name": "x", "metric": "claims", "grouping": "week"})[0] == 403
        listed = {m["id"] for m in open_member.get("/api/network/stat-models")["items"]}
        assert listed == {per_member["id"], won["id"], by_status["id"]}

    with step("a member sees each model on their own data only"):
        mine = open_member.get(f"/api/stats/{per_member['id']}")
        assert mine["scope"] == "member"
        assert points(mine) == {("leads_received", open_ref["id"]): 3}
        theirs = closed_member.get(f"/api/stats/{per_member['id']}")
        assert points(theirs) == {("leads_received", closed_ref["id"]): 2}
        won_now = open_member.get(f"/api/stats/{won['id']}")
        assert sum(p["value"] for s in won_now["series"] for p in s["points"]) == 1

    with step("the admin sees per member only those who allow it, the rest as 'others'"):
        network = admin.get(f"/api/stats/{per_member['id']}")
        assert network["scope"] == "network"
        assert points(network) == {("leads_received", open_ref["id"]): 3,
                                   ("leads_received", "others"): 2}
        assert points(admin.get(f"/api/stats/{by_status['id']}")) == {
            ("leads_received", "new"): 4, ("leads_received", "client"): 1}
        closed_member.call("PATCH", "/api/me/privacy", {"admin_access": True}, expect=200)
        assert points(admin.get(f"/api/stats/{per_member['id']}")) == {
            ("leads_received", open_ref["id"]): 3, ("leads_received", closed_ref["id"]): 2}

    with step("CSV and SVG"):
        status, body = admin.call("GET", f"/api/stats/{per_member['id']}?format=csv", expect=200)
        rows = list(csv.DictReader(io.StringIO(body.decode())))
        assert {(r["series"], r["x"], float(r["value"])) for r in rows} == {
            ("leads_received", open_ref["id"], 3.0), ("leads_received", closed_ref["id"], 2.0)}
        resp = admin.http.get(f"{base_url}/api/stats/{won['id']}?format=svg",
                              headers={"Authorization": f"Bearer {admin.token}"}, timeout=60)
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("image/svg+xml")
        root = ET.fromstring(resp.content)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert "Gagnés par mois" in "".join(root.itertext())

    with step("another network's model is not found; bad input is a 400 naming the field"):
        _, stranger = make_network()
        for method, path, body in (("GET", f"/api/stats/{per_member['id']}", None),
                                   ("GET", f"/api/stats/{per_member['id']}?format=svg", None),
                                   ("PUT", f"/api/network/stat-models/{per_member['id']}", {
                                       "name": "x", "metric": "claims", "grouping": "week"}),
                                   ("DELETE", f"/api/network/stat-models/{per_member['id']}",
                                    None),
                                   ("GET", "/api/stats/not-an-id", None)):
            status, err = stranger.call(method, path, body)
            assert status == 404, (method, path, err)
        status, err = admin.call("POST", "/api/network/stat-models", {
            "name": "x", "metric": "revenue", "grouping": "week"})
        assert status == 400 and "metric" in err["error"]["fields"]
        status, err = admin.call("POST", "/api/network/stat-models", {
            "name": "x", "metric": "emails_sent", "grouping": "origin"})
        assert status == 400 and "grouping" in err["error"]["fields"]
        status, err = admin.call("GET", f"/api/stats/{per_member['id']}?from=2026-02-01&to=2026-01-01")
        assert status == 400 and err["error"]["code"] == "period_invalid"
        status, err = admin.call("GET", f"/api/stats/{per_member['id']}?from=2020-01-01&to=2026-01-01")
        assert status == 400 and err["error"]["code"] == "window_too_large"
        status, err = admin.call("GET", f"/api/stats/{per_member['id']}?format=pdf")
        assert status == 400 and "format" in err["error"]["fields"]

    with step("a member whose level lacks view_statistics is refused, with the permission"):
        level = admin.post("/api/network/access-levels", {
            "name": "Sans stats", "permissions": [p for p in ALL if p != VIEW_STATISTICS]},
            expect=201)
        admin.put(f"/api/network/members/{open_ref['id']}/access-level",
                  {"access_level_id": level["id"]})
        status, err = open_member.call("GET", f"/api/stats/{per_member['id']}")
        assert status == 403 and err["error"]["permission"] == VIEW_STATISTICS
        admin.put(f"/api/network/members/{open_ref['id']}/access-level", {"access_level_id": None})
        assert open_member.call("GET", f"/api/stats/{per_member['id']}")[0] == 200

    with step("every metric answers, for the admin and a member"):
        for metric, grouping in (("emails_sent", "week"), ("plan_take_rate", "month"),
                                 ("claims", "status"), ("leads_by_origin", "member")):
            model = admin.post("/api/network/stat-models", {
                "name": f"{metric} {grouping}", "metric": metric, "grouping": grouping},
                expect=201)
            for who in (admin, open_member):
                assert isinstance(who.get(f"/api/stats/{model['id']}")["series"], list)
        assert admin.call("DELETE", f"/api/network/stat-models/{won['id']}")[0] == 200
        assert open_member.call("GET", f"/api/stats/{won['id']}")[0] == 404
