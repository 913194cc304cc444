"""Issue 12 §6, the end of contract (annex IV.12), over HTTP on the whole platform.

Alice (network A's admin) and Marc (a member of hers) each have an office. Compliance
staff end Alice's contract: her archive (JSON, CSV, XLSX) is prepared and she downloads
it; she confirms receipt, and every copy of her office data is destroyed by shredding
her controller key, so that a copy of her rows taken before (what a backup holds) can no
longer be read, even with the platform's master key. The certificate of destruction says
what went, with the key ids. Marc's office, under his own key in the same network, is
untouched. Asking again is refused clearly.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import time
import zipfile
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.orm import Session

from suivi_common.crypto import KeyDestroyed, KeyRing, Vault, controller_scope
from suivi_common.tables import define_common_tables
from tests.e2e.scenario import step, wait_until
from tools.api_client import Api, login_staff, subscribe_by_card
from tools.platform import DEV_STAFF, Platform

PARIS = ZoneInfo("Europe/Paris")
DAY = date(2027, 7, 5)
PASSWORD = "Contract-Ending-Otter-58"


def lead_input(first: str, email: str, consent_at: str) -> dict[str, Any]:
    return {"first_name": first, "last_name": "Durand", "country": "BE", "postal_code": "1000",
            "city": "Bruxelles", "source_url": "https://rejoindre.example/be",
            "consent_at": consent_at, "email": email}


def compliance_staff(base_url: str, tag: str) -> Api:
    staff = Api(base_url).login(*DEV_STAFF)
    email = f"dpo-eoc-{tag}@suivi.test"
    staff.post("/api/staff/users", {"email": email, "password": PASSWORD, "role": "compliance"},
               expect=201)
    return login_staff(base_url, email, PASSWORD)  # enrols its second factor


def download(api: Api, path: str) -> Any:
    return api.http.get(api.base_url + path, timeout=60,
                        headers={"Authorization": f"Bearer {api.token}"})


def office_rows(platform: Platform, owner_id: str) -> list[Any]:
    engine = create_engine(platform.db_url("leads"))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(
                "SELECT id, key_scope, data FROM office_leads WHERE owner_id = :o ORDER BY id"),
                {"o": owner_id}).all())
    finally:
        engine.dispose()


def mailer_rows(platform: Platform, owner_id: str) -> list[Any]:
    """The mailer's copies of the e-mails the owner sent (``lead_emails``)."""
    engine = create_engine(platform.db_url("mailer"))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(
                "SELECT id, key_scope, subject AS data FROM lead_emails WHERE owner_id = :o "
                "AND subject IS NOT NULL ORDER BY id"), {"o": owner_id}).all())
    finally:
        engine.dispose()


def open_rows(platform: Platform, rows: list[Any], service: str = "leads",
              table: str = "office_leads", column: str = "data") -> list[str | None]:
    """Each row's sealed value opened with the platform's master key, as a restored backup
    would be; None where its key is shredded."""
    master = base64.b64decode((platform.var_dir / "master.key").read_text().strip())
    tables = define_common_tables(MetaData())
    engine = create_engine(platform.db_url(service))
    out: list[str | None] = []
    try:
        with Session(engine) as session:
            vault = Vault(KeyRing(master, tables, engine), session)
            for row in rows:
                try:
                    out.append(vault.decrypt(row.key_scope, table, column, row.id,
                                             bytes(row.data)))
                except KeyDestroyed:
                    out.append(None)
    finally:
        engine.dispose()
    return out


def test_end_of_contract(base_url: str, platform: Platform, moved_clock: Any,
                         make_network: Any, invite_member: Any) -> None:
    moved_clock(DAY, hour=10)
    tag = str(time.time_ns())[-6:]
    compliance = compliance_staff(base_url, tag)
    consent = datetime(DAY.year, DAY.month, DAY.day, 8, tzinfo=PARIS).isoformat()
    emails = {name: f"{name.lower()}.{tag}@exemple.be" for name in ("Anna", "Bert", "Carl")}

    with step("Alice's office (two leads, a note) and Marc's, in the same network"):
        net, alice = make_network(f"Réseau EoC {tag}", countries=["BE"], subscribe="annual")
        _, marc = invite_member(alice)
        subscribe_by_card(marc, "annual")
        alice_id, marc_id = alice.get("/api/me")["id"], marc.get("/api/me")["id"]
        anna = alice.post("/api/leads", lead_input("Anna", emails["Anna"], consent), expect=201)
        alice.post("/api/leads", lead_input("Bert", emails["Bert"], consent), expect=201)
        alice.post(f"/api/leads/{anna['id']}/notes", {"text": f"Rappeler {tag}"}, expect=201)
        carl = marc.post("/api/leads", lead_input("Carl", emails["Carl"], consent), expect=201)
        assert {r.key_scope for r in office_rows(platform, alice_id)} == {
            controller_scope(net["id"], alice_id)}  # her own key, under the network's

    with step("Alice e-mails Anna: the mailer's copy is under her key too"):
        alice.post(f"/api/leads/{anna['id']}/emails",
                   {"subject": f"Votre projet {tag}", "body": "Bonjour"}, expect=202)
        wait_until(lambda: alice.get(f"/api/leads/{anna['id']}/emails")["items"],
                   lambda items: [e["status"] for e in items] == ["sent"])
        assert [r.key_scope for r in mailer_rows(platform, alice_id)] == [
            controller_scope(net["id"], alice_id)]

    path = f"/api/compliance/controllers/{alice_id}/end-of-contract"
    with step("compliance staff end Alice's contract; asking again is the same one"):
        status, first = compliance.call("POST", path)
        assert status == 202 and first["created"] is True, first
        status, again = compliance.call("POST", path)
        assert status == 202 and again["created"] is False
        assert again["contract_id"] == first["contract_id"]
        assert Api(base_url).login(*DEV_STAFF).call("POST", path)[0] == 403
        assert marc.call("GET", "/api/end-of-contract")[0] == 404

    with step("the archive: her leads, notes and history as JSON, CSV and XLSX"):
        ready = wait_until(lambda: alice.get("/api/end-of-contract"),
                           lambda v: v["status"] == "ready")
        assert ready["archive"]["available"] is True and ready["shred_after"]
        resp = download(alice, "/api/end-of-contract/archive")
        assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/zip"
        assert "attachment" in resp.headers["Content-Disposition"]
        with zipfile.ZipFile(io.BytesIO(resp.content)) as archive:
            doc = json.loads(archive.read("archive.json"))
            leads_csv = archive.read("csv/leads/leads.csv").decode("utf-8-sig")
            notes_csv = archive.read("csv/leads/notes.csv").decode("utf-8-sig")
            book = load_workbook(io.BytesIO(archive.read("archive.xlsx")), read_only=True)
        data = doc["services"]["leads"]["data"]
        assert sorted(r["record"]["email"] for r in data["leads"]) == sorted(
            [emails["Anna"], emails["Bert"]])  # hers only: not Marc's
        assert [n["text"] for n in data["notes"]] == [f"Rappeler {tag}"]
        assert data["history"]
        assert [e["subject"] for e in doc["services"]["mailer"]["data"]["emails"]] == [
            f"Votre projet {tag}"]  # the mailer's copy of what she sent
        assert sorted(r["record.email"] for r in csv.DictReader(io.StringIO(leads_csv))) == \
            sorted([emails["Anna"], emails["Bert"]])
        assert f"Rappeler {tag}" in notes_csv
        sheet = [row for row in book["leads.leads"].iter_rows(values_only=True)]
        assert {emails["Anna"], emails["Bert"]} <= {c for row in sheet for c in row}
        staff_copy = download(compliance, f"{path}/archive")
        assert staff_copy.status_code == 200 and staff_copy.content == resp.content
        status, body = compliance.call("GET", f"{path}/certificate")
        assert status == 409 and body["error"]["code"] == "not_destroyed_yet"

    backup = office_rows(platform, alice_id)  # what a backup taken now holds
    assert len(backup) == 2 and all(open_rows(platform, backup))  # readable until now
    mail_backup = mailer_rows(platform, alice_id)
    assert open_rows(platform, mail_backup, "mailer", "lead_emails", "subject") == [
        f"Votre projet {tag}"]
    with step("Alice confirms receipt: every copy is destroyed, the certificate issued"):
        confirmed = alice.post("/api/end-of-contract/receipt", expect=200)
        assert confirmed["status"] in ("shredding", "destroyed")
        status, body = alice.call("POST", "/api/end-of-contract/receipt")
        assert status == 409 and body["error"]["code"] == "already_confirmed"
        done = wait_until(lambda: compliance.get(path), lambda v: v["status"] == "destroyed")
        cert = compliance.get(f"{path}/certificate")
        assert cert == done["certificate"]
        assert cert["kind"] == "certificate_of_destruction"
        assert cert["controller"] == {"user_id": alice_id}
        assert cert["totals"]["leads"] == 2 and cert["totals"]["notes"] == 1
        shredded = {k["scope"]: k["key_id"] for k in cert["keys"]}
        assert controller_scope(net["id"], alice_id) in shredded
        assert f"eoc:{first['contract_id']}" in shredded  # compliance's own copy too
        assert ("mailer", controller_scope(net["id"], alice_id)) in {
            (k.get("service"), k["scope"]) for k in cert["keys"]}  # the mailer's key too
        assert cert["services"]["mailer"]["counts"]["emails"] == 1
        assert all(shredded.values())
        assert cert["timeline"]["receipt_confirmed_at"] and cert["timeline"]["destroyed_at"]

    with step("her rows are unreadable, the backup's copy included; Marc's are not"):
        assert open_rows(platform, backup) == [None] * len(backup)
        assert open_rows(platform, mail_backup, "mailer", "lead_emails", "subject") == [None]
        assert mailer_rows(platform, alice_id) == []
        assert all(r.data is None for r in office_rows(platform, alice_id))
        assert alice.get("/api/leads")["items"] == []
        assert alice.call("GET", f"/api/leads/{anna['id']}")[0] == 404
        assert marc.get(f"/api/leads/{carl['id']}")["email"] == emails["Carl"]
        assert [r for r in open_rows(platform, office_rows(platform, marc_id))
                if r and emails["Carl"] in r]

    with step("asking again is refused clearly; the archive is gone"):
        status, body = compliance.call("POST", path)
        assert status == 409 and body["error"]["code"] == "controller_data_destroyed"
        assert download(alice, "/api/end-of-contract/archive").status_code == 410
        assert compliance.call("GET", f"{path}/archive")[0] == 410
        assert compliance.get("/api/compliance/audit/verify")["ok"] is True
