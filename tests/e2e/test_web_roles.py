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

    assert web.get("/web/", expect=303).headers["Location"] == "/web/compliance"
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


# --- issue 15, second part: each role's first page, passwords, plans, export -------------

def test_each_role_lands_on_its_own_first_page(base_url: str, make_network: Any,
                                               invite_member: Any) -> None:
    _, admin = make_network()
    staff = Browser(base_url).login(*DEV_STAFF)
    assert staff.get("/web/", expect=303).headers["Location"] == "/web/staff"
    admin_web = Browser(base_url).login(admin.email, ADMIN_PASSWORD)
    home = admin_web.get("/web/").text
    assert 'id="admin-link"' in home and 'href="/web/admin"' in home  # admins keep the dashboard
    _, member = invite_member(admin, MEMBER_PASSWORD)
    member_home = Browser(base_url).login(member.email, MEMBER_PASSWORD).get("/web/").text
    assert 'id="admin-link"' not in member_home and 'href="/web/plans"' in member_home
    assert ".subnav" in Browser(base_url).get("/web/static/web.css").text


def test_an_invitation_link_and_a_forgotten_password_through_the_web(
        base_url: str, make_network: Any, mailbox: Any, moved_clock: Any) -> None:
    _, admin = make_network()
    email = f"web-invitee-{uuid.uuid4().hex[:8]}@example.org"
    admin.post("/api/network/members", {"email": email, "first_name": "Inès",
                                        "last_name": "Roux"}, expect=201)
    token = mailbox.set_password_token(email)
    web = Browser(base_url)
    # the emailed link (PUBLIC_URL/set-password?token=...) leads to the web office's page
    forwarded = web.get(f"/set-password?token={token}", expect=303).headers["Location"]
    assert forwarded == f"/web/set-password?token={token}"
    form = web.get(forwarded).text
    assert 'id="set-password-form"' in form and f'value="{token}"' in form
    differ = web.post("/web/set-password", {"token": token, "password": MEMBER_PASSWORD,
                                            "password_again": "something-else"}, expect=400)
    assert 'id="password_again-error"' in differ.text
    weak = web.post("/web/set-password", {"token": token, "password": "password",
                                          "password_again": "password"}, expect=400)
    assert 'id="password-error"' in weak.text
    done = web.post("/web/set-password", {"token": token, "password": MEMBER_PASSWORD,
                                          "password_again": MEMBER_PASSWORD})
    assert done.headers["Location"] == "/web/login"
    Api(base_url).login(email, MEMBER_PASSWORD)  # the invitee's account is active
    used = web.post("/web/set-password", {"token": token, "password": ADMIN_PASSWORD,
                                          "password_again": ADMIN_PASSWORD}, expect=400)
    assert 'role="alert"' in used.text and 'href="/web/forgot-password"' in used.text

    assert 'href="/web/forgot-password"' in web.get("/web/login").text
    assert 'id="forgot-form"' in web.get("/web/forgot-password").text
    moved_clock.forward(120)  # past the one-link-a-minute bound (the invitation was one)
    known = web.post("/web/forgot-password", {"email": email})
    unknown = web.post("/web/forgot-password", {"email": f"nobody-{uuid.uuid4().hex}@example.org"})
    assert known.headers["Location"] == unknown.headers["Location"] == "/web/login"
    assert known.cookies.get("suivi_flash") == unknown.cookies.get("suivi_flash")  # same answer
    bad = web.post("/web/forgot-password", {"email": "not-an-address"}, expect=400)
    assert 'id="email-error"' in bad.text

    reset = mailbox.set_password_token(email, "Réinitialisation")
    assert reset != token
    new_password = "Other-Quiet-Harbour-31"
    web.get(f"/web/set-password?token={reset}")
    web.post("/web/set-password", {"token": reset, "password": new_password,
                                   "password_again": new_password})
    Browser(base_url).login(email, new_password)
    assert Api(base_url).call("POST", "/api/auth/login", {"email": email,
                                                          "password": MEMBER_PASSWORD})[0] == 401


def test_a_distributor_quotes_buys_and_withdraws_a_plan(base_url: str, make_network: Any,
                                                        invite_member: Any) -> None:
    _, admin = make_network(countries=["FR"], subscribe="monthly")
    web = Browser(base_url).login(admin.email, ADMIN_PASSWORD)
    listing = web.get("/web/plans").text
    assert 'id="quote-form"' in listing and '<option value="FR"' in listing
    assert 'src="/web/static/plans.js"' in listing
    assert "quote.json" in web.get("/web/static/plans.js").text

    order = {"records": 60, "tier": "standard", "country": "FR"}
    api_quote = admin.post("/api/plans/quote", order, expect=200)
    shown = web.post("/web/plans/quote", {"records": "60", "tier": "standard", "country": "fr"},
                     expect=200).text
    assert f'{api_quote["total_cents"] / 100:.2f} €' in shown
    assert f'<dd id="quote-daily">{api_quote["daily_quota"]}</dd>' in shown
    assert 'id="buy-form"' in shown
    live = web.s.get(base_url + "/web/plans/quote.json",
                     params={"records": "60", "tier": "standard", "country": "FR"}, timeout=30)
    assert live.status_code == 200 and live.json()["quote"] == api_quote
    refused = web.s.get(base_url + "/web/plans/quote.json",
                        params={"records": "lots", "tier": "standard", "country": "FR"},
                        timeout=30)
    assert refused.status_code == 400 and refused.json()["error"]
    bad = web.post("/web/plans/quote", {"records": "lots", "tier": "standard", "country": "FR"},
                   expect=400)
    assert 'id="records-error"' in bad.text
    closed = web.post("/web/plans/quote", {"records": "60", "tier": "standard", "country": "DE"},
                      expect=None)
    assert closed.status_code >= 400  # a country the network has not opened
    assert 'id="country-error"' in closed.text or 'role="alert"' in closed.text

    bought = web.post("/web/plans", {**{k: str(v) for k, v in order.items()},
                                     "payment_method": "transfer"}, expect=201)
    plans = admin.get("/api/plans")["items"]
    assert len(plans) == 1 and plans[0]["status"] == "pending_payment"
    plan_id = plans[0]["id"]
    assert 'id="plan-status">pending_payment' in bought.text and 'id="cancel-form"' in bought.text
    assert f"/web/plans/{plan_id}" in web.get("/web/plans").text

    _, member = invite_member(admin, MEMBER_PASSWORD)
    Browser(base_url).login(member.email, MEMBER_PASSWORD).get(f"/web/plans/{plan_id}",
                                                               expect=404)

    web.get(f"/web/plans/{plan_id}")
    done = web.post(f"/web/plans/{plan_id}/cancel", {})
    assert done.headers["Location"] == f"/web/plans/{plan_id}"
    assert admin.get(f"/api/plans/{plan_id}")["status"] == "cancelled"
    again = web.post(f"/web/plans/{plan_id}/cancel", {}, expect=409)
    assert 'role="alert"' in again.text


def test_the_office_list_exports_the_api_files_with_the_cookie(base_url: str,
                                                               make_network: Any) -> None:
    _, admin = make_network(countries=["FR"], subscribe="monthly")
    tag = uuid.uuid4().hex[:8]
    admin.post("/api/leads", {"first_name": "Sophie", "last_name": "Marchand", "country": "FR",
                              "email": f"sophie.{tag}@exemple.fr", "city": "Rennes",
                              "postal_code": "35000", "source_url": "https://salon.example",
                              "consent_at": "2026-12-01T10:00:00+00:00"}, expect=201)
    web = Browser(base_url).login(admin.email, ADMIN_PASSWORD)
    office = web.get("/web/office?q=Rennes").text
    assert 'href="/web/office/export.csv?q=Rennes"' in office
    assert 'href="/web/office/export.xlsx?q=Rennes"' in office

    csv_web = web.get("/web/office/export.csv?q=Rennes")
    csv_api = admin.http.get(base_url + "/api/leads/export.csv",
                             params={"city": "Rennes", "lang": "fr"},
                             headers={"Authorization": f"Bearer {admin.token}"}, timeout=60)
    assert csv_api.status_code == 200
    assert csv_web.content == csv_api.content and f"sophie.{tag}@exemple.fr" in csv_web.text
    assert csv_web.headers["Content-Type"].startswith("text/csv")
    assert re.fullmatch(r'attachment; filename="prospects-\d{8}-\d{4}\.csv"',
                        csv_web.headers["Content-Disposition"])  # the page's language: fr
    assert csv_web.headers["X-Export-Rows"] == "1"
    assert web.get("/web/office/export.csv?q=Lyon").headers["X-Export-Rows"] == "0"

    xlsx = web.get("/web/office/export.xlsx")
    assert xlsx.content[:2] == b"PK" and xlsx.headers["X-Export-Rows"] == "1"
    web.get("/web/office/export.pdf", expect=404)
    anonymous = Browser(base_url).get("/web/office/export.csv", expect=303)
    assert anonymous.headers["Location"].startswith("/web/login?next=/web/office/export.csv")
