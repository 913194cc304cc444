"""Issue 12's "Done when", over HTTP as compliance staff would, on the whole platform.

One person, Jeanne, is everywhere a person can be: captured twice (the first capture sold
to Marc, a member of network A; the second kept as a duplicate of the stock), entered by
hand in Hugo's office (network B's admin), and sent an e-mail from Marc's office. She
objected first; then she asks for erasure by e-mail. The erasure finds and erases every
copy, ``leads.pii`` included, tells both owners, and its receipt counts per service. A
breach on network A notifies exactly A's controllers with their counts; Marc approves,
which gives the authority record and the e-mails to his persons. Last, a ``pg_dump`` of
every database of the platform holds no trace of Jeanne's address or phone: no
plaintext, no blind index (computed with the platform's dev keys, as the services do)
that still matches, except the opposition lists of her earlier objection.

And issue 12 §2's stale-lead reminder (the e2e platform runs it with
``STALE_LEAD_MONTHS=1``): the month's run e-mails the owner the count and a link to the
office filtered on the idle leads, which ``POST /api/leads/bulk-delete`` then deletes.
"""
from __future__ import annotations

import base64
import subprocess
import time
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidTag
from sqlalchemy import MetaData, create_engine, select, text
from sqlalchemy.orm import Session

from compliance.domain.subject import SUBJECT_INDEX_PURPOSE, subject_index
from mailer.domain.unsubscribe import INDEX_KIND, index_value
from suivi_common import principals
from suivi_common.crypto import KeyDestroyed, KeyRing, Vault
from suivi_common.rpc import RpcClient
from suivi_common.tables import define_common_tables
from suivi_common.testing.infra import PG_BASE
from tests.e2e.scenario import buy_active_plan, step, take_leads, wait_until
from tools.api_client import Api, Mailbox, login_staff, subscribe_by_card
from tools.platform import DEV_STAFF, SERVICES, Platform

PARIS = ZoneInfo("Europe/Paris")
DAY = date(2027, 6, 7)
PASSWORD = "Compliance-Heron-Quartz-73"
ERASED_NOTICE = "Un lead a été effacé à la demande de la personne concernée"
BREACH_NOTICE = "Violation de données personnelles vous concernant"
SUBJECT_NOTICE = "Information sur une violation de vos données personnelles"
#: where a blind index of the person may stay: the opposition lists of her objection
OPPOSITION_TABLES = {"leads.subject_objections", "mailer.email_oppositions"}
#: every kind of blind index the services compute on an address or a phone
INDEX_KINDS = ("email", "phone", "login-email")


def lead_input(first: str, last: str, email: str | None, mobile: str | None,
               consent_at: str) -> dict[str, Any]:
    out = {"first_name": first, "last_name": last, "country": "BE", "postal_code": "1000",
           "city": "Bruxelles", "source_url": "https://rejoindre.example/be",
           "consent_at": consent_at}
    if email:
        out["email"] = email
    if mobile:
        out["mobile"] = mobile
    return out


def compliance_staff(base_url: str) -> Api:
    """A compliance officer, logged in on the moved clock (a token from before would be past
    its life)."""
    staff = Api(base_url).login(*DEV_STAFF)
    email = f"dpo-{uuid.uuid4().hex[:8]}@suivi.test"
    staff.post("/api/staff/users", {"email": email, "password": PASSWORD, "role": "compliance"},
               expect=201)
    return login_staff(base_url, email, PASSWORD)  # enrols its second factor


def mails_to(mailbox: Mailbox, address: str, subject: str) -> list[Any]:
    return [m for m in mailbox.messages()
            if address.lower() in str(m.get("To", "")).lower() and subject in str(m["Subject"])]


def request_done(compliance: Api, kind: str, email: str, phone: str | None,
                 received_at: datetime) -> dict[str, Any]:
    """Register a request, process it, wait for every service's answer."""
    body: dict[str, Any] = {"kind": kind, "email": email, "received_at": received_at.isoformat()}
    if phone:
        body["phone"] = phone
    request = compliance.post("/api/compliance/requests", body, expect=201)
    compliance.post(f"/api/compliance/requests/{request['id']}/process", expect=200)
    return wait_until(lambda: compliance.get(f"/api/compliance/requests/{request['id']}"),
                      lambda v: v["status"] in ("completed", "failed"))


# --- the database dump -----------------------------------------------------------------------

def dump(platform: Platform, service: str) -> str:
    dbname = f"{service}{platform.db_suffix}"
    url = PG_BASE.replace("postgresql+psycopg://", "postgresql://", 1) + "/" + dbname
    return subprocess.run(["pg_dump", "--data-only", "--no-owner", url], check=True,
                          capture_output=True, text=True, timeout=300).stdout


def blind_indexes(platform: Platform, service: str, email: str, phone: str,
                  owners: list[str]) -> dict[str, str]:
    """hex digest -> what it is: every blind index of the person the service could hold,
    under each data key of its database (decrypted with the platform's dev master key),
    plus the subject indexes derived from the master key."""
    master = base64.b64decode((platform.var_dir / "master.key").read_text().strip())
    tables = define_common_tables(MetaData())
    engine = create_engine(platform.db_url(service))
    ring = KeyRing(master, tables, engine)
    out: dict[str, str] = {}
    try:
        with Session(engine) as session:
            vault = Vault(ring, session)
            scopes = session.execute(select(tables.data_keys.c.scope).where(
                tables.data_keys.c.wrapped_key.is_not(None))).scalars().all()
            for scope in scopes:
                for kind in INDEX_KINDS:
                    for value in (email, phone):
                        out[vault.blind_index(scope, kind, value).hex()] = f"{scope}:{kind}"
                for owner in owners:  # the mailer's opposition index is per owner
                    out[vault.blind_index(scope, INDEX_KIND, index_value(owner, email)).hex()] = \
                        f"{scope}:{INDEX_KIND}:{owner}"
    finally:
        engine.dispose()
    for kind, value in (("email", email), ("phone", phone)):
        digest = subject_index(ring.subkey(SUBJECT_INDEX_PURPOSE.format(kind=kind)), value)
        assert digest is not None
        out[digest] = f"subject-index:{kind}"
    return out


def traces(text: str, needles: dict[str, str]) -> list[tuple[str, str]]:
    """``(table, what)`` for each needle found in a ``pg_dump`` text (case-insensitive:
    bytea is dumped as lower-case hex, JSON may hold either case)."""
    found = []
    table = "?"
    lowered = [(n.lower(), what) for n, what in needles.items()]
    for line in text.splitlines():
        if line.startswith("COPY "):
            table = line.split()[1].removeprefix("public.")
            continue
        low = line.lower()
        for needle, what in lowered:
            if needle in low:
                found.append((table, what))
    return found


def person_traces(platform: Platform, email: str, phones: list[str],
                  owners: list[str]) -> list[tuple[str, str]]:
    """``(service.table, what)`` of every trace of the person in a dump of every database:
    plaintext (the address, the phone's forms, as text or hex) and blind indexes."""
    plain = {email: "email", email.encode().hex(): "email as hex"}
    for phone in phones:
        plain.update({phone: "phone", phone.encode().hex(): "phone as hex"})
    found: list[tuple[str, str]] = []
    for service in SERVICES:
        text = dump(platform, service)
        indexes = blind_indexes(platform, service, email, phones[0], owners)
        indexes.update({base64.b64encode(bytes.fromhex(h)).decode(): f"{w} (base64)"
                        for h, w in list(indexes.items())})
        found += [(f"{service}.{table}", what) for table, what in traces(text, plain)]
        found += [(f"{service}.{table}", f"blind index {what}")
                  for table, what in traces(text, indexes)]
    return found


_SEALED_COLUMNS = text("""
SELECT c.table_name, array_agg(c.column_name::text ORDER BY c.column_name)
FROM information_schema.columns c
WHERE c.table_schema = 'public' AND c.data_type = 'bytea' AND c.table_name <> 'data_keys'
  AND EXISTS (SELECT 1 FROM information_schema.columns i WHERE i.table_schema = 'public'
              AND i.table_name = c.table_name AND i.column_name = 'id')
GROUP BY c.table_name ORDER BY c.table_name""")


def readable_copies(platform: Platform, email: str, phone: str) -> list[str]:
    """``service.table.column:id`` of every sealed value of every database that still
    opens, under one of its database's live data keys (the platform's dev master key
    unwraps them, as the services do), to something naming the person: an encrypted copy
    under a live key is no erasure."""
    master = base64.b64decode((platform.var_dir / "master.key").read_text().strip())
    found = []
    for service in SERVICES:
        tables = define_common_tables(MetaData())
        engine = create_engine(platform.db_url(service))
        ring = KeyRing(master, tables, engine)
        try:
            with Session(engine) as session:
                vault = Vault(ring, session)
                scopes = session.execute(select(tables.data_keys.c.scope).where(
                    tables.data_keys.c.wrapped_key.is_not(None))).scalars().all()
                for table, columns in session.execute(_SEALED_COLUMNS).all():
                    listed = ", ".join(f'"{c}"' for c in columns)
                    for row in session.execute(text(f'SELECT id, {listed} FROM "{table}"')):
                        for column, blob in zip(columns, row[1:], strict=True):
                            if blob and _opens_to(vault, scopes, table, column, row[0],
                                                  bytes(blob), email, phone):
                                found.append(f"{service}.{table}.{column}:{row[0]}")
        finally:
            engine.dispose()
    return found


def _opens_to(vault: Vault, scopes: list[str], table: str, column: str, row_id: Any,
              blob: bytes, email: str, phone: str) -> bool:
    for scope in scopes:
        try:
            value = vault.decrypt(scope, table, column, row_id, blob) or ""
        except (InvalidTag, ValueError, KeyDestroyed):  # another key, or not sealed text
            continue
        return email in value.lower() or phone in value
    return False


def test_erasure_breach_and_dump(base_url: str, platform: Platform, mailbox: Mailbox,
                                 moved_clock: Any, make_network: Any,
                                 invite_member: Any) -> None:
    moved_clock(DAY, hour=10)
    compliance = compliance_staff(base_url)
    staff = Api(base_url).login(*DEV_STAFF)
    tag = str(time.time_ns())[-6:]
    consent = datetime(DAY.year, DAY.month, DAY.day, 8, tzinfo=PARIS).isoformat()
    jeanne = f"jeanne.{tag}@exemple.be"
    phone = f"+32470{tag}"
    national = f"0470{tag}"
    phones = [phone, phone.lstrip("+"), national]

    with step("two networks, their offices; Jeanne captured, sold to Marc, kept twice in stock"):
        net_a, admin_a = make_network(f"Réseau A {tag}", countries=["BE"], subscribe="annual")
        net_b, admin_b = make_network(f"Réseau B {tag}", countries=["BE"], subscribe="annual",
                                      admin_name=("Hugo", "Lambert"))
        _, marc = invite_member(admin_a)
        subscribe_by_card(marc, "annual")
        marc_id, admin_a_id = marc.get("/api/me")["id"], admin_a.get("/api/me")["id"]
        hugo_id = admin_b.get("/api/me")["id"]
        site = staff.post("/api/staff/capture-sites", {"name": f"BE {tag}",
                                                       "url": "https://rejoindre.example"})
        key = {"X-Capture-Key": site["key"]}
        first = Api(base_url).post("/api/capture/leads", {"leads": [
            lead_input("Jeanne", "Dupont", jeanne, phone, consent)]}, headers=key)["results"]
        assert [r["status"] for r in first] == ["accepted"], first
        taken = take_leads(marc, buy_active_plan(marc, 30, "premium", "BE")["id"])
        assert [x["email"] for x in taken] == [jeanne]
        sold_id = taken[0]["id"]
        again = Api(base_url).post("/api/capture/leads", {"leads": [
            lead_input("Jeanne", "Dupont", jeanne, phone, consent)]}, headers=key)["results"]
        assert [r["status"] for r in again] == ["duplicate"], again
        wait_until(lambda: marc.get(f"/api/leads?email={jeanne}")["items"],
                   lambda items: [i["id"] for i in items] == [sold_id])

    with step("Hugo (network B) enters Jeanne by hand; Marc e-mails her (mailer history)"):
        hugos = admin_b.post("/api/leads", lead_input("Jeanne", "Dupont", jeanne.upper(),
                                                      national, consent), expect=201)
        queued = marc.post(f"/api/leads/{sold_id}/emails",
                           {"subject": f"Votre projet {tag}", "body": "Bonjour {{ lead.first_name }}"},
                           expect=202)
        assert queued["status"] in ("queued", "sent")
        mailbox.wait_for(jeanne, f"Votre projet {tag}")
        wait_until(lambda: marc.get(f"/api/leads/{sold_id}/emails")["items"],
                   lambda items: [e["status"] for e in items] == ["sent"])

    with step("the breach's other persons: Marc's two leads (one with a note), Alice's, Hugo's"):
        people = {name: f"{name.lower()}.{tag}@exemple.be" for name in ("Paul", "Lise", "Rita",
                                                                         "Sven")}
        paul = marc.post("/api/leads", lead_input("Paul", "Martin", people["Paul"], None, consent),
                         expect=201)
        marc.post(f"/api/leads/{paul['id']}/notes", {"text": "Rappeler jeudi"}, expect=201)
        marc.post("/api/leads", lead_input("Lise", "Moreau", people["Lise"], None, consent),
                  expect=201)
        admin_a.post("/api/leads", lead_input("Rita", "Blanc", people["Rita"], None, consent),
                     expect=201)
        admin_b.post("/api/leads", lead_input("Sven", "Nilsson", people["Sven"], None, consent),
                     expect=201)

    with step("the stale-lead reminder's link (§2): GET /api/leads?inactive_since= filters"):
        tomorrow, today = (DAY + timedelta(days=1)).isoformat(), DAY.isoformat()
        idle = marc.get(f"/api/leads?inactive_since={tomorrow}")["items"]
        assert len(idle) == 3  # Jeanne, Paul, Lise: all touched before tomorrow
        assert marc.get(f"/api/leads?inactive_since={today}")["items"] == []
        status, body = marc.call("GET", "/api/leads?inactive_since=hier")
        assert status == 400 and "inactive_since" in body["error"]["fields"], body

    received = datetime(DAY.year, DAY.month, DAY.day, 9, tzinfo=PARIS)
    with step("an earlier objection of Jeanne's is honoured by every service"):
        objection = request_done(compliance, "objection", jeanne, phone, received)
        assert objection["status"] == "completed", objection
        before = {table for table, _ in person_traces(platform, jeanne, phones,
                                                      [marc_id, hugo_id])}
        # what the final dump must no longer hold (so the check can see it)
        assert {"leads.leads", "leads.office_leads", "leads.contacts",
                *OPPOSITION_TABLES} <= before, before
        readable = readable_copies(platform, jeanne, phone)
        assert len([r for r in readable if r.startswith("leads.leads.pii:")]) == 2, readable
        assert len([r for r in readable if r.startswith("leads.office_leads.data:")]) == 2, \
            readable
        assert any(r.startswith("mailer.") for r in readable), readable

    with step("an erasure request by e-mail finds her in stock, in both offices and the mailer"):
        erasure = request_done(compliance, "erasure", jeanne, None, received)
        assert erasure["status"] == "completed", erasure
        tasks = {t["service"]: t for t in erasure["tasks"]}
        assert tasks["leads"]["found"] is True and tasks["mailer"]["found"] is True, tasks

    with step("the receipt: per service, what was found and done, with counts and times"):
        receipt = compliance.get(f"/api/compliance/requests/{erasure['id']}/receipt")
        per = {s["service"]: s for s in receipt["services"]}
        assert sorted(per) == ["accounts", "leads", "mailer", "plans"]
        # two captured copies (sold, duplicate) and two office copies (Marc's, Hugo's)
        assert (per["leads"]["found"], per["leads"]["records_affected"]) == (True, 4), per
        assert (per["mailer"]["found"], per["mailer"]["records_affected"]) == (True, 1), per
        assert (per["accounts"]["found"], per["accounts"]["records_affected"]) == (False, 0)
        assert (per["plans"]["found"], per["plans"]["records_affected"]) == (False, 0)
        assert receipt["records_affected"] == 5 and receipt["subject_shredded"] is True
        assert all(s["requested_at"] and s["answered_at"] for s in per.values())
        assert receipt["on_time"] is True

    with step("compliance keeps the earlier objection's record, no longer whom it named"):
        earlier = compliance.get(f"/api/compliance/requests/{objection['id']}")
        assert (earlier["status"], earlier["kind"]) == ("completed", "objection")
        assert (earlier["email"], earlier["phone"], earlier["subject_shredded"]) == (
            None, None, True), earlier
        assert compliance.get(f"/api/compliance/requests/{objection['id']}/receipt")["services"]

    with step("both office copies are tombstones; the e-mail history is gone"):
        for owner, lead_id in ((marc, sold_id), (admin_b, hugos["id"])):
            lead = owner.get(f"/api/leads/{lead_id}")
            assert lead["erased_at"] and lead.get("email") in (None, ""), lead
            assert owner.get(f"/api/leads?email={jeanne}")["items"] == []
        # the mailer forgot it: the erased lead has no e-mail history to show any more
        assert marc.call("GET", f"/api/leads/{sold_id}/emails")[0] == 404

    with step("both owners are told, once each"):
        for owner in (marc, admin_b):
            mailbox.wait_for(owner.email, ERASED_NOTICE)  # type: ignore[attr-defined]
        assert len(mails_to(mailbox, marc.email, ERASED_NOTICE)) == 1  # type: ignore[attr-defined]

    with step("a breach on network A notifies exactly its controllers, with their counts"):
        breach = compliance.post("/api/compliance/breaches", {
            "nature": f"Export de sauvegarde exposé {tag}",
            "detected_at": (received + timedelta(minutes=50)).isoformat(),
            "data_categories": ["identity", "email", "comments"], "services": ["leads"],
            "scope": {"kind": "networks", "ids": [net_a["id"]]},
            "likely_consequences": "Hameçonnage ciblé", "measures_taken": "Accès révoqué"},
            expect=201)
        controllers = compliance.get(f"/api/compliance/breaches/{breach['id']}/controllers")
        counts = {c["user_id"]: (c["persons"], c["records"]) for c in controllers["items"]}
        # Marc: Paul (record + note) and Lise; Jeanne's tombstone holds nothing; Alice: Rita
        assert counts == {marc_id: (2, 3), admin_a_id: (1, 1)}, counts
        for who, persons, records in ((marc, 2, 3), (admin_a, 1, 1)):
            notice = mailbox.wait_for(who.email, BREACH_NOTICE)  # type: ignore[attr-defined]
            text = Mailbox.text_of(notice)
            assert f"personnes concernées : {persons}." in text
            assert f"enregistrements concernés : {records}." in text
            assert f"Export de sauvegarde exposé {tag}" in text
        assert admin_b.call("GET", f"/api/breaches/{breach['id']}")[0] == 404
        wait_until(lambda: compliance.get(f"/api/compliance/breaches/{breach['id']}"),
                   lambda b: b["progress"]["notices"]["sent"] == 2)
        assert mails_to(mailbox, admin_b.email, BREACH_NOTICE) == []  # type: ignore[attr-defined]

    with step("Marc approves: the authority record, and his persons are e-mailed"):
        answer = marc.post(f"/api/breaches/{breach['id']}/approval",
                           {"notify_authority": True, "notify_subjects": True}, expect=200)
        assert answer["authority_record_available"] is True
        record = marc.get(f"/api/breaches/{breach['id']}/authority-record")
        assert (record["approximate_persons"], record["approximate_records"]) == (2, 3)
        assert record["controller"] == {"user_id": marc_id, "network_id": net_a["id"]}
        assert record["nature"] == f"Export de sauvegarde exposé {tag}"
        assert record["subjects_to_be_notified"] is True
        assert record["timeline"]["within_72_hours"] is True
        status, page = marc.call("GET", f"/api/breaches/{breach['id']}/authority-record.html")
        assert status == 200
        filed = compliance.get(f"/api/compliance/breaches/{breach['id']}/authority-records")
        assert [r["controller"]["user_id"] for r in filed["items"]] == [marc_id]
        for name in ("Paul", "Lise"):
            got = mailbox.wait_for(people[name], SUBJECT_NOTICE)
            assert "Export de sauvegarde exposé" in Mailbox.text_of(got)
        assert admin_a.call("GET", f"/api/breaches/{breach['id']}/authority-record")[0] == 404
        assert mails_to(mailbox, people["Rita"], SUBJECT_NOTICE) == []
        assert mails_to(mailbox, jeanne, SUBJECT_NOTICE) == []

    with step("a dump of every database holds no trace of Jeanne but her objection's indexes"):
        left = person_traces(platform, jeanne, phones, [marc_id, hugo_id])
        assert [t for t in left if t[0] not in OPPOSITION_TABLES] == [], left
        # the check sees what it looks for: the objection's indexes are found, and kept
        assert {table for table, _ in left} == OPPOSITION_TABLES, left
        # nor a sealed copy that still opens: leads.pii, the office records, the e-mails...
        assert readable_copies(platform, jeanne, phone) == []


REMINDER = "sans activité depuis 1 mois dans votre bureau"
OWNER_PASSWORD = "Idle-Lantern-Harbor-29"


def test_the_monthly_stale_lead_reminder(base_url: str, platform: Platform, mailbox: Mailbox,
                                         moved_clock: Any, make_network: Any) -> None:
    moved_clock(date(2028, 1, 10), hour=10)
    _, owner = make_network(password=OWNER_PASSWORD, subscribe="annual")
    email = owner.email  # type: ignore[attr-defined]
    tag = uuid.uuid4().hex[:6]
    consent = datetime(2028, 1, 10, 8, tzinfo=PARIS).isoformat()
    idle = [owner.post("/api/leads", lead_input(name, "Idle", f"{name.lower()}.{tag}@exemple.be",
                                                None, consent), expect=201)
            for name in ("Anna", "Bert")]
    kept = owner.post("/api/leads", lead_input("Cleo", "Busy", f"cleo.{tag}@exemple.be", None,
                                               consent), expect=201)

    with step("a note keeps a lead off the reminder"):
        moved_clock(date(2028, 2, 15), hour=10)
        owner = Api(base_url).login(email, OWNER_PASSWORD)  # the old session expired
        owner.post(f"/api/leads/{kept['id']}/notes", {"text": "Rappelée"}, expect=201)

    with step("March's run, on its first Paris day, e-mails the count and the filtered view"):
        moved_clock(date(2028, 3, 1), hour=9)
        key = principals.ensure_key_file(platform.principal_key_file)
        with RpcClient(platform.amqp_uri, timeout=60, service="leads", key=key) as rpc:
            first = rpc.leads.stale_reminder_run()
            again = rpc.leads.stale_reminder_run()
        # (the hourly timer may have run the month first: then this call found it done)
        assert first["month"] == "2028-03-01" and not again["due"], (first, again)
        mail = mailbox.wait_for(email, "2 leads " + REMINDER)
        text = Mailbox.text_of(mail)
        link = next(w for w in text.split() if w.startswith(base_url + "/leads?"))
        assert parse_qs(urlsplit(link).query) == {"inactive_since": ["2028-02-02"]}
        assert "art. 3.B.iv" in text and "You have 2 lead(s) with no activity" in text

    with step("the link's view lists the idle leads; bulk delete takes them in one step"):
        owner = Api(base_url).login(email, OWNER_PASSWORD)
        since = parse_qs(urlsplit(link).query)["inactive_since"][0]
        listed = owner.get(f"/api/leads?inactive_since={since}")["items"]
        assert sorted(i["id"] for i in listed) == sorted(x["id"] for x in idle)
        done = owner.post("/api/leads/bulk-delete", {"filter": {"inactive_since": since}})
        assert done == {"deleted": 2, "kept": 0}
        assert [i["id"] for i in owner.get("/api/leads")["items"]] == [kept["id"]]
        assert len([m for m in mailbox.messages() if REMINDER in str(m["Subject"])
                    and email in str(m["To"])]) == 1
