"""The office end to end over HTTP on the real platform: bought leads arrive in the office;
list, edit, status, notes, history, a refund claim decided by staff (credited to the plan),
an export that opens in a spreadsheet, and nobody else's leads.

The platform clock is moved to a fixed Monday morning first: the plan's quota is a
day's, and a run across a real midnight would see the day close under it."""
from __future__ import annotations

import io
import time
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl

from tests.e2e.scenario import buy_active_plan, step, take_leads, wait_until
from tools.api_client import Api, Mailbox, subscribe_by_card
from tools.platform import DEV_STAFF

DAY = date(2027, 2, 1)  # a Monday, before the dates of the plans flow (clocks move forward)


def test_office_over_http(base_url: str, mailbox: Mailbox, invite_member: Any,
                          moved_clock: Any, make_network: Any) -> None:
    moved_clock(DAY)
    staff = Api(base_url).login(*DEV_STAFF)
    tag = str(time.time_ns())[-8:]
    _, admin = make_network(f"Office {tag}", "Cobalt-Meadow-Lantern-64", ["BE"],
                            admin_name=("Hélène", "Girard"))
    _, user = invite_member(admin)
    subscribe_by_card(user, "annual")

    site = staff.post("/api/staff/capture-sites", {"name": f"BE {tag}", "url": "https://be.example"})
    now = datetime(DAY.year, DAY.month, DAY.day, 8, tzinfo=ZoneInfo("Europe/Paris")).isoformat()
    stock = [{"first_name": "Louise", "last_name": f"Peeters{chr(97 + i)}", "country": "BE",
              "email": f"louise.{tag}.{i}@exemple.be", "mobile": f"+32470{int(tag) % 1000:03d}{i:03d}",
              "postal_code": "1000", "city": "Bruxelles", "source_url": "https://be.example/f",
              "consent_at": now} for i in range(12)]
    results = Api(base_url).post("/api/capture/leads", {"leads": stock},
                                 headers={"X-Capture-Key": site["key"]})["results"]
    assert all(r["status"] == "accepted" for r in results), results

    pid = buy_active_plan(user, 90, "premium", "BE")["id"]
    taken = take_leads(user, pid)
    with step("bought leads arrive in the office (asynchronously, through lead_delivered)"):
        page = wait_until(lambda: user.get("/api/leads?origin=purchased"),
                          lambda p: len(p["items"]) == len(taken))
        assert len(taken) == 3  # 90 records over 30 days
        first, second = page["items"][0]["id"], page["items"][-1]["id"]
        assert {i["status"] for i in page["items"]} == {"new"}
        email = next(x["email"] for x in taken if x["id"] == second)
        assert [i["id"] for i in user.get(f"/api/leads?email={email}")["items"]] == [second]

    with step("edit, status, notes, history"):
        user.patch(f"/api/leads/{first}", {"city": "Ixelles", "postal_code": "1050"})
        user.post(f"/api/leads/{first}/status", {"status": "contacted"})
        status, body = user.call("POST", f"/api/leads/{first}/status", {"status": "nonsense"})
        assert status == 400
        user.post(f"/api/leads/{first}/notes", {"text": "Rappeler mardi, intéressée"})
        history = user.get(f"/api/leads/{first}/history")["items"]
        assert {h["field"] for h in history} >= {"city", "postal_code", "status"}
        assert all(h["source"] == "user" for h in history if h["field"] == "city")
        assert user.get(f"/api/leads/{first}")["city"] == "Ixelles"

    with step("the admin reshapes the pipeline; a removed status holding leads needs a remap"):
        status, body = admin.call("PUT", "/api/network/pipeline", {
            "statuses": ["new", "called", "meeting", "client", "distributor", "not_interested"],
            "initial": "new", "terminal": ["client", "distributor", "not_interested"]})
        assert status == 409 and body["error"]["code"] == "pipeline_status_in_use"
        admin.put("/api/network/pipeline", {
            "statuses": ["new", "called", "meeting", "client", "distributor", "not_interested"],
            "initial": "new", "terminal": ["client", "distributor", "not_interested"],
            "remap": {"contacted": "called"}})
        assert user.get(f"/api/leads/{first}")["status"] == "called"

    with step("refund claims: refused on the edited lead, accepted on another, decided by staff once"):
        status, body = user.call("POST", f"/api/leads/{first}/refund-claims",
                                 {"reason": "phone_unassigned", "comment": "numéro inexistant"})
        assert status == 409 and body["error"]["code"] == "refund_claim_lead_edited"
        claim = user.post(f"/api/leads/{second}/refund-claims",
                          {"reason": "fake_record", "comment": "nom fantaisiste"}, expect=201)
        assert claim["status"] == "pending" and "checks" not in claim  # checks are for staff
        before = user.get(f"/api/plans/{pid}")["records_remaining"]
        staff = Api(base_url).login(*DEV_STAFF)
        pending = staff.get("/api/staff/refund-claims?status=pending")["items"]
        mine = next(c for c in pending if c["id"] == claim["id"])
        assert {"email_domain", "names"} & set(mine["checks"]) or mine["checks"], mine
        staff.post(f"/api/staff/refund-claims/{claim['id']}/decision", {"approve": True,
                                                                        "comment": "accordé"})
        assert staff.call("POST", f"/api/staff/refund-claims/{claim['id']}/decision",
                          {"approve": False, "comment": "non"})[0] == 409
        wait_until(lambda: user.get(f"/api/plans/{pid}")["records_remaining"], lambda r: r == before + 1)
        assert user.get("/api/refund-claims")["items"][0]["status"] == "approved"

    with step("export: opens in a spreadsheet, French headers, only this user's leads"):
        resp = user.http.get(base_url + "/api/leads/export.xlsx",
                             headers={"Authorization": f"Bearer {user.token}"}, timeout=60)
        assert resp.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(resp.content), read_only=True).active
        rows = list(sheet.iter_rows(values_only=True))
        assert "Nom" in rows[0] and len(rows) == 1 + len(taken)
        assert "Ixelles" not in str(rows)  # the initial data, as delivered

    with step("nobody else: another member and the admin once privacy is off"):
        _, other = invite_member(admin)
        assert other.call("GET", f"/api/leads/{first}")[0] == 403  # no subscription: office closed
        subscribe_by_card(other, "monthly")
        for method, path, body in (("GET", f"/api/leads/{first}", None),
                                   ("PATCH", f"/api/leads/{first}", {"city": "Namur"}),
                                   ("DELETE", f"/api/leads/{first}", None),
                                   ("GET", f"/api/leads/{first}/history", None),
                                   ("POST", f"/api/leads/{first}/notes", {"text": "x"}),
                                   ("POST", f"/api/leads/{first}/status", {"status": "meeting"}),
                                   ("POST", f"/api/leads/{second}/refund-claims", {"reason": "fake_record"})):
            status, answer = other.call(method, path, json=body)
            assert status == 404, (method, path, status, answer)
        assert user.get(f"/api/leads/{first}")["city"] == "Ixelles"
        member_id = user.get("/api/me")["id"]
        assert admin.get(f"/api/network/members/{member_id}/leads")["items"]
        user.patch("/api/me/privacy", {"admin_access": False})
        status, body = admin.call("GET", f"/api/network/members/{member_id}/leads")
        assert status == 403 and body["error"]["code"] == "admin_access_refused"

    with step("a lead met in person is entered without source URL nor consent (issue 13)"):
        met = {"first_name": "Anne", "last_name": "Salon", "country": "BE",
               "mobile": f"+32470{int(tag) % 1000:03d}999"}
        status, body = user.call("POST", "/api/leads", met)
        assert status == 400 and {"source_url", "consent_at"} <= set(body["error"]["fields"])
        direct = user.post("/api/leads", {**met, "source": "direct"}, expect=201)
        assert (direct["source"], direct["source_url"], direct["origin"]) == (
            "direct", None, "personal")

    with step("bulk delete (3.B.iv): an empty filter is refused; idle leads go in one step"):
        status, body = user.call("POST", "/api/leads/bulk-delete", {"filter": {}})
        assert status == 400 and "filter" in body["error"]["fields"], body
        status, body = user.call("POST", "/api/leads/bulk-delete",
                                 {"filter": {"inactive_since": "not a date"}})
        assert status == 400 and "inactive_since" in body["error"]["fields"], body
        held = len(user.get("/api/leads?limit=200")["items"])
        done = user.post("/api/leads/bulk-delete", {"filter": {"inactive_since": "2027-02-02"}})
        assert done["deleted"] >= 1 and done["deleted"] + done["kept"] <= held, done
        assert other.post("/api/leads/bulk-delete",
                          {"filter": {"inactive_since": "2027-02-02"}})["deleted"] == 0
        status, gone = user.call("GET", f"/api/leads/{first}")
        assert status == 404 or gone["erased"], gone
