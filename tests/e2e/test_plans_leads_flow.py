"""Plans and leads end to end over HTTP, with the platform clock moved by the dev endpoint:
quote → buy by card → active → tier change → capture and take → days pass → absence →
sales closure → end date and quota → completed."""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.e2e.scenario import buy_active_plan, step, take_leads, wait_until
from tools.api_client import Api, Mailbox, onboard, pay_by_card, subscribe_by_card
from tools.platform import DEV_STAFF

PARIS = ZoneInfo("Europe/Paris")
START = date(2027, 3, 1)  # a Monday


def at(day: date, hour: int = 9) -> str:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS).isoformat()


def lead(i: int, country: str = "FR", day: date = START) -> dict[str, Any]:
    return {"first_name": "Jeanne", "last_name": f"Valjean{chr(97 + i % 26)}", "country": country,
            "email": f"jeanne.{i}.{time.time_ns()}@exemple.fr",
            "mobile": f"+3361{(time.time_ns() // 1000 + i) % 10_000_000:07d}",
            "postal_code": "75011", "city": "Paris", "source_url": "https://rejoindre.example",
            "consent_at": at(day, 8)}


def network_on(day: date, base_url: str, moved_clock: Any, make_network: Any, name: str,
               password: str, country: str, admin_name: tuple[str, str]) -> tuple[Api, str, Any]:
    """The platform clock on ``day``, staff logged in, and a network named ``name`` and a
    tag (open in ``country``) whose admin subscribed yearly: (staff, tag, admin)."""
    moved_clock(day)
    staff = Api(base_url).login(*DEV_STAFF)
    tag = str(time.time_ns())[-8:]
    _, admin = make_network(f"{name} {tag}", password, [country], "annual", admin_name)
    return staff, tag, admin


def test_plan_life_over_http(base_url: str, mailbox: Mailbox, moved_clock: Any,
                             make_network: Any) -> None:
    staff, tag, admin = network_on(START, base_url, moved_clock, make_network, "Plans",
                                   "Orange-Velvet-Canyon-31", "FR", ("Paula", "Renard"))
    admin_email = admin.email

    with step("capture over HTTP: premium stock (valid mobile + email), a bad item and a duplicate"):
        site = staff.post("/api/staff/capture-sites", {"name": "Form", "url": "https://form.example"})
        batch = [lead(i) for i in range(40)]
        batch.append({"first_name": "Nobody", "country": "FR"})
        batch.append(dict(batch[0]))
        results = Api(base_url).post("/api/capture/leads", {"leads": batch},
                                     headers={"X-Capture-Key": site["key"]}, expect=200)["results"]
        assert [r["status"] for r in results[:40]] == ["accepted"] * 40
        assert results[40]["status"] == "rejected" and results[41]["status"] == "duplicate"
        assert Api(base_url).call("POST", "/api/capture/leads", {"leads": []},
                                  headers={"X-Capture-Key": "wrong"})[0] == 401

    with step("refusals change nothing"):
        for bad in ({"records": 30, "tier": "gold", "country": "FR"},
                    {"records": 30, "tier": "premium", "country": "DE"},
                    {"records": 0, "tier": "premium", "country": "FR"},
                    {"records": 10_000, "tier": "premium", "country": "FR"}):
            status, body = admin.call("POST", "/api/plans", {**bad, "payment_method": "card"})
            assert status == 400, (bad, body)
        assert admin.get("/api/plans")["items"] == []

    with step("quote, then buy by card: active from the day of payment, 30 days"):
        quote = admin.post("/api/plans/quote", {"records": 60, "tier": "premium", "country": "FR"})
        assert quote["days"] == 30 and quote["daily_quota"] == 2
        assert quote["total_cents"] == 60 * quote["unit_price_cents"]
        plan = admin.post("/api/plans", {"records": 60, "tier": "premium", "country": "FR",
                                         "payment_method": "card"}, expect=201)
        assert plan["status"] == "pending_payment"
        pay_by_card(plan["payment"])
        pid = plan["id"]
        plan = wait_until(lambda: admin.get(f"/api/plans/{pid}"), lambda p: p["status"] == "active")
        assert (plan["start_date"], plan["end_date"]) == ("2027-03-01", "2027-03-30")
        assert plan["daily_quota"] == 2

    with step("another member cannot see or take it"):
        admin.post("/api/network/members", {"email": f"other-{tag}@example.org", "first_name": "Odile",
                                            "last_name": "Rivière"}, expect=201)
        other = onboard(base_url, mailbox, f"other-{tag}@example.org", "Granite-Willow-Harbor-58")
        assert other.call("GET", f"/api/plans/{pid}")[0] == 404
        assert other.call("POST", f"/api/plans/{pid}/take", {})[0] == 404

    with step("take today's quota: exactly 2 leads, full data, matching country and tier"):
        taken = wait_until(lambda: admin.call("POST", f"/api/plans/{pid}/take", {})[1],
                           lambda body: body.get("quota_today") == 2)
        assert len(taken["leads"]) == 2 and taken["taken_today"] == 2
        assert all(x["country"] == "FR" and x.get("email") for x in taken["leads"])
        again = admin.post(f"/api/plans/{pid}/take", {})
        assert again["leads"] == [] and again["taken_today"] == 2

    with step("tier change: once per calendar day, value preserved"):
        changed = admin.post(f"/api/plans/{pid}/tier", {"tier": "standard"})
        assert changed["tier"] == "standard" and changed["records_remaining"] > 58
        status, body = admin.call("POST", f"/api/plans/{pid}/tier", {"tier": "premium"})
        assert status == 409 and body["error"]["code"] == "tier_change_daily_limit"

    with step("a day passes; the next day the tier can change again"):
        moved_clock(START + timedelta(days=1))
        staff = Api(base_url).login(*DEV_STAFF)
        staff.post("/api/staff/day-close", {"date": START.isoformat()}, expect=200)
        admin = Api(base_url).login(admin_email, "Orange-Velvet-Canyon-31")  # idle expiry passed
        back = admin.post(f"/api/plans/{pid}/tier", {"tier": "premium"})
        assert back["tier"] == "premium"
        remaining = back["records_remaining"]

    with step("planned absence on Thursday-Friday, asked on Tuesday (notice rule met): +2 days"):
        absence = admin.post("/api/absences", {"start_date": "2027-03-04", "end_date": "2027-03-05"},
                             expect=201)
        assert absence["status"] == "approved"  # a planned absence is granted when asked
        status, body = admin.call("POST", "/api/absences", {"start_date": "2027-03-11",
                                                            "end_date": "2027-03-12"})
        assert status == 409 and body["error"]["code"] == "absence_quarterly_limit"
    with step("sales closure Monday-Tuesday next week for FR: +2 more days, nothing forfeited"):
        staff.post("/api/staff/sales-closures", {"start_date": "2027-03-08", "end_date": "2027-03-09",
                                                 "countries": ["FR"]}, expect=201)
        plan = admin.get(f"/api/plans/{pid}")
        assert plan["end_date"] == "2027-04-03"
        remaining_days = 30 - 1  # blocked days push the end back; 29 delivery days are left
        assert plan["daily_quota"] == -(-remaining // remaining_days)
        forecast = staff.get("/api/staff/forecast?days=3")
        assert forecast["total"] >= plan["daily_quota"]

    with step("the first batch goes stale on March 31 (30 days): fresh stock arrives for the last"):
        # days, so their quotas could have been served; left untaken, they are forfeited
        moved_clock(date(2027, 3, 31))
        fresh = [lead(100 + i, day=date(2027, 3, 31)) for i in range(8)]
        results = Api(base_url).post("/api/capture/leads", {"leads": fresh},
                                     headers={"X-Capture-Key": site["key"]}, expect=200)["results"]
        assert [r["status"] for r in results] == ["accepted"] * 8

    with step("the last day passes without takes: every quota is forfeited, the plan completes"):
        moved_clock(date(2027, 4, 4))
        staff = Api(base_url).login(*DEV_STAFF)
        staff.post("/api/staff/day-close", {"date": "2027-04-03"}, expect=200)
        admin = Api(base_url).login(admin_email, "Orange-Velvet-Canyon-31")
        plan = wait_until(lambda: admin.get(f"/api/plans/{pid}"), lambda p: p["status"] == "completed")
        assert plan["records_remaining"] == 0

    with step("force majeure afterwards (within 30 days of the end), with a PDF proof, approved by"):
        # staff: the forfeited records of those days come back and the plan reopens
        fm = admin.post("/api/absences", {"start_date": "2027-03-20", "end_date": "2027-03-21",
                                          "force_majeure": True, "reason": "hospitalisation",
                                          "details": "Hospitalisée deux jours", "plan_id": pid},
                        expect=201)
        assert fm["status"] == "pending"
        bad = admin.http.post(f"{base_url}/api/absences/{fm['id']}/proof",
                              files={"file": ("proof.pdf", b"not really a pdf", "application/pdf")},
                              headers={"Authorization": f"Bearer {admin.token}"}, timeout=30)
        assert bad.status_code == 400
        good = admin.http.post(f"{base_url}/api/absences/{fm['id']}/proof",
                               files={"file": ("proof.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n",
                                               "application/pdf")},
                               headers={"Authorization": f"Bearer {admin.token}"}, timeout=30)
        assert good.status_code in (200, 201), good.text
        pending = staff.get("/api/staff/absences?status=pending")["items"]
        assert fm["id"] in {a["id"] for a in pending}
        staff.post(f"/api/staff/absences/{fm['id']}/decision", {"approve": True, "comment": "justifié"})
        plan = admin.get(f"/api/plans/{pid}")
        assert plan["status"] == "active" and plan["records_remaining"] > 0


def test_a_day_without_any_stock_stays_owed_though_the_owner_never_came(
        base_url: str, mailbox: Mailbox, moved_clock: Any,
        make_network: Any) -> None:
    """Terms art. 8.B: a CH plan (10 a day) finds no CH stock at all on its first day and
    its owner never opens it. At the day close the 10 leads are shortfall, not forfeit:
    300 records remain and the plan gets one more delivery day."""
    day = date(2027, 4, 12)  # a Monday, after the dates of the plan-life test
    _, _, admin = network_on(day, base_url, moved_clock, make_network, "Suisse",
                             "Alpine-Meadow-Clock-47", "CH", ("Heidi", "Keller"))
    admin_email = admin.email
    plan = buy_active_plan(admin, 300, "standard", "CH")
    pid = plan["id"]
    assert (plan["records_remaining"], plan["daily_quota"]) == (300, 10)
    end = date.fromisoformat(plan["end_date"])

    moved_clock(day + timedelta(days=1))
    staff = Api(base_url).login(*DEV_STAFF)
    staff.post("/api/staff/day-close", {"date": day.isoformat()}, expect=200)
    admin = Api(base_url).login(admin_email, "Alpine-Meadow-Clock-47")
    plan = wait_until(lambda: admin.get(f"/api/plans/{pid}"),
                      lambda p: p["last_closed_date"] == day.isoformat())
    assert plan["records_remaining"] == 300  # was 290: the day's 10 were forfeited
    assert plan["end_date"] == (end + timedelta(days=1)).isoformat()
    assert plan["daily_quota"] == 10
    # leads holds the new snapshot: the owner is owed 10 today, still with no CH stock
    today = wait_until(lambda: admin.call("POST", f"/api/plans/{pid}/take", {})[1],
                       lambda body: body.get("quota_today") == 10)
    assert today["leads"] == [] and today["shortfall_today"] == 10


def test_a_lead_just_taken_can_be_worked_on_at_once(
        base_url: str, mailbox: Mailbox, moved_clock: Any,
        make_network: Any) -> None:
    """Read your own writes (issue 10): the leads a take returns are in the owner's office
    when the take answers, so setting a status right after is no 404."""
    day = date(2027, 5, 3)  # a Monday, after the dates of the tests above
    staff, tag, admin = network_on(day, base_url, moved_clock, make_network, "Lecture",
                                   "Quartz-Harbor-Violet-62", "FR", ("Rose", "Lemaire"))
    site = staff.post("/api/staff/capture-sites", {"name": f"Form {tag}",
                                                   "url": "https://form.example"})
    results = Api(base_url).post("/api/capture/leads",
                                 {"leads": [lead(300 + i, day=day) for i in range(4)]},
                                 headers={"X-Capture-Key": site["key"]}, expect=200)["results"]
    assert [r["status"] for r in results] == ["accepted"] * 4
    taken = take_leads(admin, buy_active_plan(admin, 60, "premium", "FR")["id"])
    for item in taken:  # no waiting between the take and the first move
        status, body = admin.call("POST", f"/api/leads/{item['id']}/status",
                                  {"status": "contacted"})
        assert (status, body.get("status")) == (200, "contacted"), body
    page = admin.get("/api/leads?origin=purchased")["items"]
    assert {i["id"] for i in page} >= {x["id"] for x in taken}


def test_a_plan_buys_one_kind_covered_by_the_subscription_and_gets_only_that_kind(
        base_url: str, mailbox: Mailbox, moved_clock: Any, make_network: Any,
        invite_member: Any) -> None:
    """Issue 13 §1 over HTTP: a construction subscription (the default) is refused a
    distribution plan; a member subscribed to both offices buys one, and its takes bring
    only leads of distribution capture sites, filed in the office as distribution leads,
    though older construction stock of the same country and tier waits."""
    day = date(2027, 6, 7)  # a Monday, after the dates of the tests above
    staff, tag, admin = network_on(day, base_url, moved_clock, make_network, "Genres",
                                   "Cobalt-Meadow-Lantern-47", "FR", ("Denise", "Lambert"))

    with step("a construction subscription is refused a distribution plan"):
        order = {"records": 60, "tier": "premium", "country": "FR", "kind": "distribution",
                 "payment_method": "card"}
        status, body = admin.call("POST", "/api/plans", order)
        assert status == 403 and body["error"]["code"] == "kind_not_covered", body
        assert admin.get("/api/plans")["items"] == []
        status, body = admin.call("POST", "/api/plans", {**order, "kind": "shop"})
        assert status == 400 and "kind" in body["error"]["fields"], body

    with step("capture sites declare their kind; construction stock arrives first"):
        sites = {kind: staff.post("/api/staff/capture-sites", {
            "name": f"{kind} {tag}", "url": "https://form.example",
            **({"kind": kind} if kind == "distribution" else {})}, expect=201)
            for kind in ("construction", "distribution")}
        assert {k: s["kind"] for k, s in sites.items()} == {
            "construction": "construction", "distribution": "distribution"}
        ids = {}
        for n, kind in enumerate(("construction", "distribution")):
            results = Api(base_url).post(
                "/api/capture/leads", {"leads": [lead(500 + 10 * n + i, day=day)
                                                 for i in range(4)]},
                headers={"X-Capture-Key": sites[kind]["key"]}, expect=200)["results"]
            assert [r["status"] for r in results] == ["accepted"] * 4
            ids[kind] = {r["id"] for r in results}

    with step("a member subscribed to both offices buys a distribution plan"):
        _, member = invite_member(admin)
        assert subscribe_by_card(member, "monthly", kind="both")["kind"] == "both"
        quote = member.post("/api/plans/quote", {k: v for k, v in order.items()
                                                 if k != "payment_method"})
        assert quote["kind"] == "distribution" and quote["daily_quota"] == 2
        plan = member.post("/api/plans", order, expect=201)
        assert plan["kind"] == "distribution"
        pay_by_card(plan["payment"])
        pid = plan["id"]
        wait_until(lambda: member.get(f"/api/plans/{pid}"), lambda p: p["status"] == "active")

    with step("its take brings distribution leads only"):
        taken = take_leads(member, pid)
        assert len(taken) == 2 and {x["id"] for x in taken} <= ids["distribution"]
        assert {x["kind"] for x in taken} == {"distribution"}

    with step("the office filters by kind and the export carries it"):
        listed = member.get("/api/leads?kind=distribution")["items"]
        assert {i["id"] for i in listed} == {x["id"] for x in taken}
        assert {i["kind"] for i in listed} == {"distribution"}
        assert member.get("/api/leads?kind=construction")["items"] == []
        assert member.call("GET", "/api/leads?kind=shop")[0] == 400
        resp = member.http.get(f"{base_url}/api/leads/export.csv?lang=en",
                               headers={"Authorization": f"Bearer {member.token}"}, timeout=60)
        assert resp.status_code == 200, resp.text
        header, *rows = resp.content.decode("utf-8-sig").splitlines()
        assert header.split(",")[-1] == "Office kind"
        assert len(rows) == 2 and all(r.split(",")[-1] == "distribution" for r in rows)
