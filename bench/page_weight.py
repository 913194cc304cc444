"""Page weight of the web office (issue 15): for every main page, the bytes a browser
fetches on a cold cache, HTML plus the stylesheets and scripts it links, each
gzip-compressed (level 6, as a reverse proxy would serve it) and summed. Target: under
150 KB a page. Not timed: the figure depends on the templates only, so the same
measure also runs as a test (``tests/e2e/test_page_weight.py``).

``weigh_all`` logs in through the /web login form as a member (dashboard, office, one
lead, account, terms), the network's admin (the admin pages), staff (payments, claims,
absences, users) and a compliance officer with a second factor (requests, breaches);
``run`` does it on a fresh platform with one network, one subscribed member and one lead.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import requests

from tools.api_client import Api, enrol_totp, totp_code

TARGET_BYTES = 150 * 1024
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
LINKED = re.compile(r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src)="([^"]+)"')
COMPLIANCE_PASSWORD = "Compliance-Owl-Lantern-58"

MEMBER_PAGES = ["/web/", "/web/office", "/web/office/leads/{lead}", "/web/account",
                "/web/terms"]
ADMIN_PAGES = ["/web/admin", "/web/admin/access-levels", "/web/admin/pipeline",
               "/web/admin/templates", "/web/admin/automations", "/web/admin/stats",
               "/web/admin/settings"]
STAFF_PAGES = ["/web/staff", "/web/staff/claims", "/web/staff/absences", "/web/staff/users"]
COMPLIANCE_PAGES = ["/web/compliance", "/web/compliance/breaches"]


def login(base_url: str, email: str, password: str, totp_secret: str | None = None
          ) -> requests.Session:
    """A cookie session from the /web login form (and its second-factor step)."""
    s = requests.Session()
    s.trust_env = False
    csrf = CSRF_FIELD.search(s.get(base_url + "/web/login", timeout=30).text)
    assert csrf
    r = s.post(base_url + "/web/login", data={"email": email, "password": password,
                                              "next": "/web/", "csrf": csrf.group(1)},
               allow_redirects=False, timeout=30)
    if totp_secret:
        challenge = re.search(r'name="challenge" value="([^"]+)"', r.text)
        assert r.status_code == 200 and challenge, (r.status_code, r.text[:500])
        r = s.post(base_url + "/web/login/mfa", allow_redirects=False, timeout=30, data={
            "challenge": challenge.group(1), "next": "/web/", "csrf": csrf.group(1),
            "code": totp_code(base_url, totp_secret, steps_ahead=1)})
    assert r.status_code == 303 and s.cookies.get("suivi_session"), (r.status_code, r.text[:500])
    return s


def weigh(session: requests.Session, base_url: str, path: str) -> dict[str, Any]:
    """One page: its HTML and every stylesheet and script it links, raw and gzipped."""
    page = session.get(base_url + path, allow_redirects=False, timeout=30)
    assert page.status_code == 200, (path, page.status_code, page.text[:500])
    parts = {"html": page.content}
    for href in LINKED.findall(page.text):
        asset = session.get(urljoin(base_url + path, href), timeout=30)
        assert asset.status_code == 200, (href, asset.status_code)
        parts[href] = asset.content
    raw = sum(len(b) for b in parts.values())
    zipped = sum(len(gzip.compress(b, 6)) for b in parts.values())
    return {"page": path, "assets": sorted(k for k in parts if k != "html"),
            "html_bytes": len(page.content), "raw_bytes": raw, "gzip_bytes": zipped,
            "under_target": zipped < TARGET_BYTES}


def compliance_user(base_url: str, staff: Api) -> tuple[str, str]:
    """A compliance officer, created by staff, with the second factor the role requires."""
    email = f"dpo-{uuid.uuid4().hex[:8]}@suivi.test"
    staff.post("/api/staff/users", {"email": email, "password": COMPLIANCE_PASSWORD,
                                    "role": "compliance"}, expect=201)
    body = Api(base_url).post("/api/auth/login", {"email": email,
                                                  "password": COMPLIANCE_PASSWORD}, expect=200)
    return email, enrol_totp(Api(base_url, body["token"])).secret


def a_lead(member: Api) -> str:
    items = member.get("/api/leads?limit=1")["items"]
    if items:
        return str(items[0]["id"])
    return str(member.post("/api/leads", {
        "first_name": "Sophie", "last_name": "Marchand", "country": "FR",
        "email": f"sophie.{uuid.uuid4().hex[:8]}@exemple.fr", "city": "Rennes",
        "postal_code": "35000", "source_url": "https://salon.example",
        "consent_at": datetime.now(UTC).isoformat()}, expect=201)["id"])


def weigh_all(base_url: str, staff: Api, staff_login: tuple[str, str],
              admin_login: tuple[str, str], member_login: tuple[str, str],
              lead_id: str) -> list[dict[str, Any]]:
    anonymous = requests.Session()
    anonymous.trust_env = False
    rows = [weigh(anonymous, base_url, "/web/login")]
    member = login(base_url, *member_login)
    rows += [weigh(member, base_url, p.format(lead=lead_id)) for p in MEMBER_PAGES]
    admin = login(base_url, *admin_login)
    rows += [weigh(admin, base_url, p) for p in ADMIN_PAGES]
    staff_web = login(base_url, *staff_login)
    rows += [weigh(staff_web, base_url, p) for p in STAFF_PAGES]
    email, secret = compliance_user(base_url, staff)
    officer = login(base_url, email, COMPLIANCE_PASSWORD, totp_secret=secret)
    rows += [weigh(officer, base_url, p) for p in COMPLIANCE_PAGES]
    return rows


def report(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        print(f"  {r['page']:<34} html {r['html_bytes']:>7} B  +assets raw {r['raw_bytes']:>7} B"
              f"  gzip {r['gzip_bytes']:>6} B  {'ok' if r['under_target'] else 'OVER 150 KB'}",
              flush=True)


def run() -> dict[str, Any]:
    from bench.web_common import ADMIN_PASSWORD, MEMBER_PASSWORD, network_platform
    from tools.platform import DEV_STAFF

    with network_platform("_bench_weight") as net:
        lead_id = a_lead(net.member)
        rows = weigh_all(net.platform.url, net.staff, DEV_STAFF,
                         (net.admin_email, ADMIN_PASSWORD), (net.member_email, MEMBER_PASSWORD),
                         lead_id)
    report(rows)
    heaviest = max(rows, key=lambda r: r["gzip_bytes"])
    print(f"  heaviest: {heaviest['page']} {heaviest['gzip_bytes']} B gzip "
          f"(target < {TARGET_BYTES} B); load average {os.getloadavg()}", flush=True)
    return {"pages": rows, "heaviest": heaviest, "target_bytes": TARGET_BYTES,
            "all_under_target": all(r["under_target"] for r in rows)}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, default=str))
