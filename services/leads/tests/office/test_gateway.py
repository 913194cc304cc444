"""The office over real HTTP: the gateway's ``OfficeRoutes`` (stub authentication) in front
of the office mixin."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from leads.office.testing import raw_lead

U1, U2 = "user:u1:net-1", "user:u2:net-1"
ADMIN, STAFF = "admin:a1:net-1", "staff:s1:"


def test_export_routes_are_not_shadowed_by_the_lead_route(stack):
    lead = stack.deliver("u1")
    stack.deliver("u2", i=1)
    status, headers, body = stack.http("GET", "/api/leads/export.xlsx?lang=en", token=U1)
    assert status == 200, body
    assert headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in headers["Content-Disposition"] and headers["X-Export-Rows"] == "1"
    assert int(headers["Content-Length"]) == len(body)
    rows = list(load_workbook(io.BytesIO(body)).active.values)
    assert rows[0][1] == "Last name" and len(rows) == 2 and rows[1][3] == "lead0@example.fr"
    status, headers, body = stack.http("GET", "/api/leads/export.csv?status=new", token=U1)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert body.decode("utf-8-sig").splitlines()[0].startswith("Date de création;Nom;")
    status, _, body = stack.http("GET", "/api/leads/export.xlsx?created_from=nope", token=U1)
    assert status == 400 and "created_from" in body["error"]["fields"]
    assert stack.http("GET", f"/api/leads/{lead}", token=U1)[0] == 200


def test_the_office_over_http(stack):
    status, _, created = stack.http("POST", "/api/leads", raw_lead(3, city="Lyon",
                                                                   postal_code="69002"), U1)
    assert status == 201 and created["origin"] == "personal", created
    status, _, body = stack.http("POST", "/api/leads", {"first_name": "X"}, U1)
    assert status == 400 and "contact" in body["error"]["fields"]
    lead = stack.deliver("u1")
    status, _, page = stack.http("GET", "/api/leads?limit=1&sort=created_desc", token=U1)
    assert status == 200 and len(page["items"]) == 1 and page["next_cursor"]
    status, _, page = stack.http("GET", f"/api/leads?cursor={page['next_cursor']}", token=U1)
    assert [i["id"] for i in page["items"]] == [created["id"]]
    status, _, page = stack.http("GET", "/api/leads?city=lyon&origin=personal", token=U1)
    assert [i["id"] for i in page["items"]] == [created["id"]]
    status, _, page = stack.http("GET", "/api/leads?email=lead0@example.fr", token=U1)
    assert [i["id"] for i in page["items"]] == [lead]
    status, _, body = stack.http("PATCH", f"/api/leads/{lead}", {"consent_at": "x"}, U1)
    assert status == 400
    status, _, body = stack.http("POST", f"/api/leads/{lead}/status", {"status": "meeting"}, U1)
    assert status == 200 and body["status"] == "meeting"
    status, _, note = stack.http("POST", f"/api/leads/{lead}/notes", {"text": "RDV jeudi"}, U1)
    assert status == 201 and note["text"] == "RDV jeudi"
    assert stack.http("GET", f"/api/leads/{lead}/notes", token=U1)[2]["items"][0]["text"] == "RDV jeudi"
    status, _, claim = stack.http("POST", f"/api/leads/{lead}/refund-claims",
                                  {"reason": "phone_unassigned"}, U1)
    assert status == 201 and claim["status"] == "pending"
    status, _, body = stack.http("POST", f"/api/leads/{lead}/refund-claims",
                                 {"reason": "phone_unassigned"}, U1)
    assert status == 409 and body["error"]["code"] == "refund_claim_already_claimed"
    status, _, body = stack.http("POST", f"/api/leads/{created['id']}/refund-claims",
                                 {"reason": "fake_record"}, U1)
    assert status == 409 and body["error"]["code"] == "refund_claim_personal_lead"
    status, _, body = stack.http("PATCH", f"/api/leads/{lead}", {"city": "Lille"}, U1)
    assert status == 200 and body["city"] == "Lille" and body["initial"]["city"] == "Paris"
    status, _, hist = stack.http("GET", f"/api/leads/{lead}/history", token=U1)
    assert [h["field"] for h in hist["items"]] == ["status", "note", "city"]
    assert stack.http("GET", "/api/staff/refund-claims?status=pending", token=U1)[0] == 403
    status, _, queue = stack.http("GET", "/api/staff/refund-claims?status=pending", token=STAFF)
    assert status == 200 and queue["items"][0]["checks"]["phone_valid"] == "pass"
    status, _, decided = stack.http("POST", f"/api/staff/refund-claims/{claim['id']}/decision",
                                    {"approve": True, "comment": "ok"}, STAFF)
    assert status == 200 and decided["status"] == "approved"
    status, _, body = stack.http("POST", f"/api/staff/refund-claims/{claim['id']}/decision",
                                 {"approve": False}, STAFF)
    assert status == 409 and body["error"]["code"] == "refund_claim_decided"
    status, _, mine = stack.http("GET", "/api/refund-claims", token=U1)
    assert mine["items"][0]["status"] == "approved"
    assert stack.http("DELETE", f"/api/leads/{created['id']}", token=U1)[0] == 200
    assert stack.http("GET", f"/api/leads/{created['id']}", token=U1)[0] == 404


def test_idor_over_http(stack):
    lead = stack.deliver("u1")
    routes = [("GET", f"/api/leads/{lead}", None), ("PATCH", f"/api/leads/{lead}", {"city": "X"}),
              ("DELETE", f"/api/leads/{lead}", None),
              ("POST", f"/api/leads/{lead}/notes", {"text": "x"}),
              ("GET", f"/api/leads/{lead}/notes", None),
              ("POST", f"/api/leads/{lead}/status", {"status": "contacted"}),
              ("GET", f"/api/leads/{lead}/history", None),
              ("POST", f"/api/leads/{lead}/refund-claims", {"reason": "fake_record"})]
    for method, path, body in routes:
        status, _, answer = stack.http(method, path, body, U2)
        assert (status, answer["error"]["code"]) == (404, "not_found"), (method, path)
    assert stack.http("GET", f"/api/leads/{lead}", token=U1)[2]["status"] == "new"


def test_pipeline_and_the_admins_view_over_http(stack, fake):
    lead = stack.deliver("u1")
    fake["admins"]["a1"] = "net-1"
    fake["members"]["u1"] = {"network": "net-1", "admin_access": True}
    fake["members"]["u9"] = {"network": "net-2", "admin_access": True}
    assert stack.http("GET", "/api/network/pipeline", token=U1)[2]["initial"] == "new"
    new = {"statuses": ["new", "called", "client"], "initial": "new", "terminal": ["client"]}
    assert stack.http("PUT", "/api/network/pipeline", new, U1)[0] == 403
    status, _, body = stack.http("PUT", "/api/network/pipeline", new, ADMIN)
    assert status == 200 and body["version"] == 1
    status, _, page = stack.http("GET", "/api/network/members/u1/leads", token=ADMIN)
    assert status == 200 and [i["id"] for i in page["items"]] == [lead]
    assert stack.http("GET", f"/api/network/members/u1/leads/{lead}", token=ADMIN)[0] == 200
    assert stack.http("GET", f"/api/network/members/u1/leads/{lead}/history",
                      token=ADMIN)[0] == 200
    assert stack.http("GET", "/api/network/members/u9/leads", token=ADMIN)[0] == 404
    fake["members"]["u1"]["admin_access"] = False
    status, _, body = stack.http("GET", "/api/network/members/u1/leads", token=ADMIN)
    assert (status, body["error"]["code"]) == (403, "admin_access_refused")
    status, _, body = stack.http("GET", f"/api/network/members/u1/leads/{lead}", token=ADMIN)
    assert (status, body["error"]["code"]) == (403, "admin_access_refused")
    assert stack.http("GET", "/api/network/members/u1/leads", token=U1)[0] == 403
