"""The web office of the admin, staff and compliance roles, over HTTP as a browser does
it (a cookie session from the /web login form, the CSRF field in every POST), on the
whole platform: each role's pages show the data its JSON routes return, one form per
role changes something, a distributor is refused an admin page, and a POST without its
CSRF field is refused."""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests
from markupsafe import escape

from suivi_common.testing.waiting import wait_for
from tools.api_client import Api, enrol_totp, totp_code
from tools.platform import DEV_STAFF

ADMIN_PASSWORD = "Correct-Horse-Battery-42"
MEMBER_PASSWORD = "Distinct-Violet-Pass-77"
COMPLIANCE_PASSWORD = "Compliance-Owl-Lantern-58"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    """A cookie session on the web office, reading the CSRF field of the page it got."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.s = requests.Session()
        self.s.trust_env = False
        self.csrf = ""

    def get(self, path: str, expect: int | None = 200) -> requests.Response:
        r = self.s.get(self.base_url + path, allow_redirects=False, timeout=30)
        if expect is not None:
            assert r.status_code == expect, (path, r.status_code, r.text[:2000])
        found = CSRF_FIELD.search(r.text)
        if found:
            self.csrf = found.group(1)
        return r

    def post(self, path: str, data: dict[str, Any] | list[tuple[str, str]],
             expect: int | None = 303, csrf: bool = True) -> requests.Response:
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf:
            fields.append(("csrf", self.csrf))
        r = self.s.post(self.base_url + path, data=fields, allow_redirects=False, timeout=60)
        if expect is not None:
            assert r.status_code == expect, (path, r.status_code, r.text[:2000])
        return r

    def login(self, email: str, password: str, totp_secret: str | None = None) -> Browser:
        self.get("/web/login")
        assert self.csrf and self.s.cookies.get("suivi_csrf") == self.csrf
        r = self.post("/web/login", {"email": email, "password": password, "next": "/web/"},
                      expect=None)
        if totp_secret:
            assert r.status_code == 200, r.text[:2000]
            # the next step's code: the current one was used to confirm the factor
            challenge = re.search(r'name="challenge" value="([^"]+)"', r.text)
            assert challenge, r.text[:2000]
            r = self.post("/web/login/mfa", {"challenge": challenge.group(1), "next": "/web/",
                                             "code": totp_code(self.base_url, totp_secret,
                                                               steps_ahead=1)},
                          expect=None)
        assert r.status_code == 303, (r.status_code, r.text[:2000])
        assert self.s.cookies.get("suivi_session")
        return self


@pytest.fixture
def admin_web(base_url: str, make_network: Any) -> tuple[Browser, Api]:
    _, admin = make_network(countries=["FR"])
    return Browser(base_url).login(admin.email, ADMIN_PASSWORD), admin


def test_admin_pages_show_the_network_and_invite_a_member(admin_web: tuple[Browser, Api],
                                                          mailbox: Any) -> None:
    web, admin = admin_web
    home = web.get("/web/")
    assert 'href="/web/admin"' in home.text  # the role's link in the navigation

    members = web.get("/web/admin")
    assert admin.email in members.text and 'id="invite-form"' in members.text

    email = f"invitee-{uuid.uuid4().hex[:8]}@example.org"
    done = web.post("/web/admin/members", {"email": email, "first_name": "Chloé",
                                           "last_name": "Petit"})
    assert done.headers["Location"] == "/web/admin"
    listed = [m["email"] for m in admin.get("/api/network/members?limit=200")["items"]]
    assert email in listed
    assert email in web.get("/web/admin").text
    mailbox.wait_for(email)  # the invitation is emailed, as through the API

    bad = web.post("/web/admin/members", {"email": "not-an-email", "first_name": "A",
                                          "last_name": "B"}, expect=400)
    assert 'class="field-error"' in bad.text

    pipeline = admin.get("/api/network/pipeline")
    page = web.get("/web/admin/pipeline").text
    assert all(s in page for s in pipeline["statuses"])
    assert "FR" in web.get("/web/admin/settings").text
    web.post("/web/admin/settings", {"open_countries": "FR, be",
                                     "announcement": "Réunion lundi"})
    network = admin.get("/api/network")
    assert network["open_countries"] == ["FR", "BE"] and network["announcement"] == "Réunion lundi"
    assert "Réunion lundi" in web.get("/web/admin/settings").text
    web.post("/web/admin/settings", {"open_countries": "FR, BE", "announcement": ""})
    assert admin.get("/api/network")["announcement"] is None  # an empty field clears it

    statuses = pipeline["statuses"]
    web.post("/web/admin/pipeline", {"statuses": "\n".join([*statuses, "relance"]),
                                     "initial": pipeline["initial"],
                                     "terminal": ", ".join(pipeline["terminal"]), "remap": ""})
    assert admin.get("/api/network/pipeline")["statuses"] == [*statuses, "relance"]
    refused = web.post("/web/admin/pipeline", {"statuses": "a\nb", "initial": "zzz",
                                               "terminal": "", "remap": ""}, expect=None)
    assert refused.status_code in (400, 409) and 'role="alert"' in refused.text
    assert admin.get("/api/network/pipeline")["statuses"] == [*statuses, "relance"]

    web.get("/web/admin/access-levels")
    web.post("/web/admin/access-levels", [("name", "Lecture seule")])
    levels = web.get("/web/admin/access-levels").text
    assert all(escape(lv["name"]) in levels for lv in admin.get("/api/network/access-levels")["items"])

    templates = admin.get("/api/network/email-templates")["items"]
    listing = web.get("/web/admin/templates").text
    assert templates and all(escape(t["name"]) in listing for t in templates)
    web.get(f"/web/admin/templates/{templates[0]['id']}")
    preview = web.post(f"/web/admin/templates/{templates[0]['id']}/preview", {"lead_id": ""},
                       expect=200)
    assert 'id="preview-subject"' in preview.text
    made = web.post("/web/admin/templates", {"name": "Relance web", "subject": "Bonjour",
                                             "body_text": "Bonjour {{ lead.first_name }}",
                                             "body_html": "", "locale": "fr"})
    template_id = made.headers["Location"].rsplit("/", 1)[1]
    assert admin.get(f"/api/network/email-templates/{template_id}")["name"] == "Relance web"
    web.get("/web/admin/automations")
    web.post("/web/admin/automations", {"status": "relance", "template_id": template_id,
                                        "delay_hours": "2", "enabled": "1"})
    automations = admin.get("/api/network/automations")["items"]
    assert [(a["status"], a["delay_hours"]) for a in automations
            if a["template_id"] == template_id] == [("relance", 2)]

    model = admin.post("/api/network/stat-models", {"name": "Leads par statut",
                                                    "metric": "leads_received",
                                                    "grouping": "status"}, expect=201)
    assert "Leads par statut" in web.get("/web/admin/stats").text
    chart = web.get(f"/web/admin/stats/{model['id']}").text
    assert 'src="data:image/svg+xml;base64,' in chart


def test_a_distributor_is_refused_the_admin_staff_and_compliance_pages(
        base_url: str, make_network: Any, invite_member: Any) -> None:
    _, admin = make_network()
    _, member = invite_member(admin, MEMBER_PASSWORD)
    web = Browser(base_url).login(member.email, MEMBER_PASSWORD)
    assert 'href="/web/admin"' not in web.get("/web/").text
    for path in ("/web/admin", "/web/admin/pipeline", "/web/staff", "/web/compliance"):
        web.get(path, expect=403)
    web.post("/web/admin/members", {"email": "x@example.org", "first_name": "X",
                                    "last_name": "Y"}, expect=403)


def test_a_post_without_its_csrf_field_is_refused(admin_web: tuple[Browser, Api]) -> None:
    web, admin = admin_web
    web.get("/web/admin")
    email = f"nocsrf-{uuid.uuid4().hex[:8]}@example.org"
    refused = web.post("/web/admin/members", {"email": email, "first_name": "A",
                                              "last_name": "B"}, expect=403, csrf=False)
    assert 'role="alert"' in refused.text
    web.post("/web/admin/members", {"email": email, "first_name": "A", "last_name": "B",
                                    "csrf": "forged"}, expect=403, csrf=False)
    assert email not in [m["email"] for m in admin.get("/api/network/members?limit=200")["items"]]


def test_staff_validate_a_payment_and_change_an_account_status(
        base_url: str, make_network: Any, invite_member: Any) -> None:
    _, admin = make_network()
    sub = admin.post("/api/subscriptions", {"period": "monthly", "payment_method": "transfer"},
                     expect=201)
    payment_id = sub["payment"]["id"]
    web = Browser(base_url).login(*DEV_STAFF)
    assert 'href="/web/staff"' in web.get("/web/account").text
    payments = web.get("/web/staff").text
    assert f"/web/staff/payments/{payment_id}/validate" in payments
    web.post(f"/web/staff/payments/{payment_id}/validate", {})
    assert admin.get(f"/api/payments/{payment_id}")["status"] == "validated"
    assert f"/web/staff/payments/{payment_id}/validate" not in web.get("/web/staff").text

    web.get("/web/staff/claims")
    web.get("/web/staff/absences")
    web.get("/web/staff/absences?status=approved")
    unknown = str(uuid.uuid4())  # the decisions reach their RPCs: an unknown id is the 404 page
    web.post(f"/web/staff/claims/{unknown}/decision", {"approve": "0", "comment": "non"},
             expect=404)
    web.post(f"/web/staff/absences/{unknown}/decision", {"approve": "0", "comment": "non"},
             expect=404)
    web.get(f"/web/staff/absences/{unknown}/proof", expect=404)

    member, member_api = invite_member(admin, MEMBER_PASSWORD)
    web.get("/web/staff/users")
    suspended = web.post("/web/staff/users", {"user_id": member["id"], "action": "suspend"},
                         expect=200)
    assert "suspended" in suspended.text
    assert member_api.call("GET", "/api/me")[0] in (401, 403)
    back = web.post("/web/staff/users", {"user_id": member["id"], "action": "reactivate"},
                    expect=200)
    assert "active" in back.text
    assert Api(base_url).login(member_api.email, MEMBER_PASSWORD).get("/api/me")["id"] == member["id"]

    web.get("/web/admin", expect=403)  # staff is not a network admin


def test_compliance_register_and_process_an_erasure_request(base_url: str, staff: Api) -> None:
    email = f"dpo-{uuid.uuid4().hex[:8]}@suivi.test"
    staff.post("/api/staff/users", {"email": email, "password": COMPLIANCE_PASSWORD,
                                    "role": "compliance"}, expect=201)
    body = Api(base_url).post("/api/auth/login", {"email": email,
                                                  "password": COMPLIANCE_PASSWORD}, expect=200)
    factor = enrol_totp(Api(base_url, body["token"]))
    web = Browser(base_url).login(email, COMPLIANCE_PASSWORD, totp_secret=factor.secret)
    assert 'href="/web/compliance"' in web.get("/web/account").text

    web.get("/web/compliance")
    subject = f"subject-{uuid.uuid4().hex[:8]}@example.org"
    done = web.post("/web/compliance/requests", {"kind": "erasure", "email": subject,
                                                 "phone": "", "received_at": "2026-12-01T10:00",
                                                 "note": "Par courrier", "changes": ""})
    where = done.headers["Location"]
    assert where.startswith("/web/compliance/requests/")
    request_id = where.rsplit("/", 1)[1]
    page = web.get(where).text
    assert subject in page and "erasure" in page and 'id="process"' in page
    assert "/web/compliance/requests/" + request_id in web.get("/web/compliance").text

    web.post(f"/web/compliance/requests/{request_id}/process", {})

    wait_for(lambda: 'class="tasks"' in web.get(where).text,
             what="the request's tasks on its page")

    bad = web.post("/web/compliance/requests", {"kind": "erasure", "email": subject,
                                                "received_at": "yesterday"}, expect=400)
    assert 'class="field-error"' in bad.text or 'class="error"' in bad.text
    web.get("/web/staff", expect=403)


def test_compliance_declare_a_breach_and_follow_it(base_url: str, staff: Api,
                                                   make_network: Any) -> None:
    _, admin = make_network()
    admin_id = admin.get("/api/me")["id"]
    email = f"dpo-{uuid.uuid4().hex[:8]}@suivi.test"
    staff.post("/api/staff/users", {"email": email, "password": COMPLIANCE_PASSWORD,
                                    "role": "compliance"}, expect=201)
    body = Api(base_url).post("/api/auth/login", {"email": email,
                                                  "password": COMPLIANCE_PASSWORD}, expect=200)
    factor = enrol_totp(Api(base_url, body["token"]))
    web = Browser(base_url).login(email, COMPLIANCE_PASSWORD, totp_secret=factor.secret)
    web.get("/web/compliance/breaches")
    done = web.post("/web/compliance/breaches", [
        ("nature", "Export envoyé au mauvais destinataire"), ("detected_at", "2026-12-01T09:30"),
        ("data_categories", "identity"), ("data_categories", "email"), ("services", "leads"),
        ("scope_kind", "users"), ("scope_ids", admin_id), ("changed_from", ""),
        ("changed_to", ""), ("likely_consequences", "Sollicitations indésirables"),
        ("measures_taken", "Destinataire contacté, fichier supprimé")])
    where = done.headers["Location"]
    assert where.startswith("/web/compliance/breaches/")
    page = web.get(where).text
    assert "Export envoyé au mauvais destinataire" in page
    assert 'id="countdown"' in page and 'id="progress"' in page
    assert where in web.get("/web/compliance/breaches").text
