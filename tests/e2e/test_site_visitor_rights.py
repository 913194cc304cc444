"""A site visitor's rights over HTTP, on the whole platform (issue 12 §1 for issue 13 §2).

Bruno, a member, has his brochure site. Two visitors fill in its capture form: each is a
personal lead in his office with the consent they gave (the exact notice, its version).
Compliance staff register an access request by the first visitor's email: the export
holds their lead and the consent (what notice they saw, when). Then an erasure request by
the same email: their lead is a tombstone in Bruno's office, its consent proof is gone,
and nothing in leads' database still matches the email (no consent row, no blind index
under any live key); the other visitor is untouched.
"""
from __future__ import annotations

import base64
import io
import json
import re
import uuid
import zipfile
from datetime import date, datetime, timedelta
from typing import Any

import requests
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.orm import Session

from suivi_common.crypto import SUBKEY_SCOPE, KeyRing, Vault
from suivi_common.tables import define_common_tables
from tests.e2e.scenario import step, wait_until
from tools.api_client import Api, login_staff, subscribe_by_card
from tools.platform import DEV_STAFF, Platform

DAY = date(2027, 10, 4)  # a Monday, after the dates of the other flows
NOTICE = ("Vos données sont traitées par votre conseiller pour vous recontacter au sujet de "
          "l'opportunité. Vous pouvez exercer vos droits à tout moment.")
PASSWORD = "Compliance-Heron-Quartz-31"


def token_of(page: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def platform_now(api: Api) -> datetime:
    _, body = api.call("GET", "/health")
    return datetime.fromisoformat(body["services"]["compliance"]["now"])


def leads_rows(platform: Platform, lead_id: str) -> tuple[int, Any]:
    """(consent rows of the lead, its office row's blind indexes) in leads' database."""
    engine = create_engine(platform.db_url("leads"))
    try:
        with engine.connect() as conn:
            consents = conn.execute(text("SELECT count(*) FROM site_consents WHERE lead_id = "
                                         ":id"), {"id": lead_id}).scalar_one()
            office = conn.execute(text("SELECT email_bidx, mobile_bidx, data FROM office_leads "
                                       "WHERE id = :id"), {"id": lead_id}).one()
        return int(consents), office
    finally:
        engine.dispose()


def matching_rows(platform: Platform, email: str) -> int:
    """Rows of leads' tables holding a blind index of ``email`` under any live key (the
    platform's dev master key unwraps them, as the service does)."""
    master = base64.b64decode((platform.var_dir / "master.key").read_text().strip())
    tables = define_common_tables(MetaData())
    engine = create_engine(platform.db_url("leads"))
    try:
        with Session(engine) as session:
            vault = Vault(KeyRing(master, tables, engine), session)
            scopes = session.execute(select(tables.data_keys.c.scope).where(
                tables.data_keys.c.wrapped_key.is_not(None),
                tables.data_keys.c.scope != SUBKEY_SCOPE)).scalars().all()
            digests = [d for scope in scopes for d in vault.blind_indexes(scope, "email", email)]
            found = 0
            for table in ("leads", "office_leads"):
                found += session.execute(text(
                    f"SELECT count(*) FROM {table} WHERE email_bidx = ANY(:d)"),
                    {"d": digests}).scalar_one()
            found += session.execute(text("SELECT count(*) FROM contacts WHERE digest = "
                                          "ANY(:d)"), {"d": digests}).scalar_one()
            return int(found)
    finally:
        engine.dispose()


def test_a_site_visitor_is_exported_then_erased_by_email(
        base_url: str, platform: Platform, moved_clock: Any, make_network: Any,
        invite_member: Any) -> None:
    moved_clock(DAY)
    _, alice = make_network(countries=["FR"])
    _, bruno = invite_member(alice)
    subscribe_by_card(bruno, "monthly")
    alice.post("/api/network/site-pages", {
        "kind": "construction", "title": "L'opportunité avec {name}", "blocks": [
            {"type": "heading", "text": "Rejoignez {name}"},
            {"type": "form", "notice": NOTICE, "notice_version": "v1",
             "submit_label": "Être recontacté"}]}, expect=201)
    site_url = f"{base_url}/s/{bruno.get('/api/me/site')['slug']}/opportunite"
    visitor = requests.Session()
    visitor.trust_env = False
    tag = uuid.uuid4().hex[:8]
    email, other = f"camille.{tag}@exemple.fr", f"dominique.{tag}@exemple.fr"

    def fill_in(address: str) -> str:
        token = token_of(visitor.get(site_url, timeout=30).text)
        moved_clock.forward(10)  # past the form's minimum fill time
        sent = visitor.post(site_url, allow_redirects=False, timeout=30, data={
            "form_token": token, "first_name": "Camille", "last_name": "Lefèvre",
            "email": address, "mobile": "", "postal_code": "75011", "city": "Paris",
            "country": "FR", "website": ""})
        assert sent.status_code == 303, sent.text
        listed = bruno.get("/api/leads")["items"]
        return next(x["id"] for x in listed if x["email"] == address)

    with step("two visitors fill in the form: a lead each, with its consent"):
        lead_id, other_id = fill_in(email), fill_in(other)
        consents = bruno.get(f"/api/leads/{lead_id}")["site_consents"]
        assert [(c["notice_text"], c["notice_version"]) for c in consents] == [(NOTICE, "v1")]

    dpo = f"dpo-{tag}@suivi.test"
    staff = Api(base_url).login(*DEV_STAFF)  # after the clock moved: a fresh session
    staff.post("/api/staff/users", {"email": dpo, "password": PASSWORD, "role": "compliance"},
               expect=201)
    compliance = login_staff(base_url, dpo, PASSWORD)

    def completed(kind: str) -> tuple[str, dict[str, Any]]:
        request = compliance.post("/api/compliance/requests", {
            "kind": kind, "email": email,
            "received_at": (platform_now(compliance) - timedelta(hours=1)).isoformat()},
            expect=201)
        compliance.post(f"/api/compliance/requests/{request['id']}/process", expect=200)
        view = wait_until(lambda: compliance.get(f"/api/compliance/requests/{request['id']}"),
                          lambda v: v["status"] == "completed")
        tasks = {t["service"]: t for t in view["tasks"]}
        assert tasks["leads"]["found"] is True, tasks
        return request["id"], view

    with step("an access request by email exports the lead and the notice they saw"):
        request_id, _ = completed("access")
        resp = compliance.http.get(
            f"{compliance.base_url}/api/compliance/requests/{request_id}/export", timeout=60,
            headers={"Authorization": f"Bearer {compliance.token}"})
        assert resp.status_code == 200
        with zipfile.ZipFile(io.BytesIO(resp.content)) as archive:
            doc = json.loads(archive.read("export.json"))
        office = doc["services"]["leads"]["data"]["office"]
        assert [o["lead_id"] for o in office] == [lead_id]
        [consent] = office[0]["site_consents"]
        assert (consent["notice_text"], consent["notice_version"], consent["kind"]) == (
            NOTICE, "v1", "construction")
        assert consent["consented_at"] and consent["source_url"] == site_url

    with step("an erasure request by email: the lead a tombstone, its consent gone"):
        assert leads_rows(platform, lead_id)[0] == 1 and matching_rows(platform, email) >= 1
        _, view = completed("erasure")
        leads_task = next(t for t in view["tasks"] if t["service"] == "leads")
        assert leads_task["records_affected"] >= 2  # the office lead and its consent
        seen = bruno.get(f"/api/leads/{lead_id}")
        assert seen["erased"] and seen["email"] is None and seen["site_consents"] == []
        consents, row = leads_rows(platform, lead_id)
        assert consents == 0 and row.email_bidx is None and row.data is None
        assert matching_rows(platform, email) == 0  # nothing still matches the address

    with step("the other visitor keeps their lead and consent"):
        kept = bruno.get(f"/api/leads/{other_id}")
        assert kept["email"] == other and len(kept["site_consents"]) == 1
        assert matching_rows(platform, other) >= 1
