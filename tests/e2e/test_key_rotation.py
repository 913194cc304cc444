"""Key rotations over the running platform keep every lead readable.

Leads are captured and bought; every service restarts with a new master key (the old one
listed as previous), ``python -m tools.rotate_master_key`` re-wraps every service's keys
while the platform runs, the services restart once more without the old key (which they
then refuse), and every lead reads back over HTTP, by id and by its email's blind index;
the buyer logs in again (accounts' login index is under the re-wrapped platform key).
Then ``python -m tools.rotate_data_key`` rotates the buyer network's data key in leads,
and every lead reads back again."""
from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.orm import Session

from suivi_common import SERVICES, key_rotation
from suivi_common.crypto import SCOPE_SEPARATOR, KeyRing, controller_scope
from suivi_common.tables import define_common_tables
from tests.e2e.scenario import buy_active_plan, step, take_leads, wait_until
from tools.api_client import Api, subscribe_by_card
from tools.platform import DEV_STAFF, ROOT, Platform

DAY = date(2027, 3, 1)  # a Monday
FIELDS = ("email", "first_name", "last_name", "mobile", "city", "postal_code", "status")


def restart_services(platform: Platform, **env: str) -> None:
    """Every service process, one after the other, on the new settings (as a rolling
    restart would; the gateway keeps serving)."""
    platform.extra_env.update(env)
    for name in [n for n, _ in platform.processes if n.rpartition("-")[0] in SERVICES]:
        platform.kill(name)
        platform.restart(name)
    platform.wait_services()
    platform.wait_healthy()


def key_scopes(platform: Platform, master: bytes) -> dict[str, tuple[list[str], list[str]]]:
    """Each service's live key scopes, and those a ring holding only ``master`` cannot
    unwrap (``key_rotation.unopened_scopes``), read from its database."""
    tables = define_common_tables(MetaData())
    out = {}
    for service in SERVICES:
        engine = create_engine(platform.db_url(service))
        try:
            with engine.connect() as conn:
                live = list(conn.execute(select(tables.data_keys.c.scope).where(
                    tables.data_keys.c.wrapped_key.is_not(None))
                    .order_by(tables.data_keys.c.scope)).scalars())
            out[service] = (live, key_rotation.unopened_scopes(KeyRing(master, tables, engine),
                                                              engine))
        finally:
            engine.dispose()
    return out


def seed_mailer_copy(platform: Platform, master: bytes, network_id: str, user_id: str) -> None:
    """A controller key in the mailer's own key table, as its copy of a lead written for an
    email creates one (``mailer.usecases.lead_emails``), under the network's mailer key."""
    tables = define_common_tables(MetaData())
    engine = create_engine(platform.db_url("mailer"))
    try:
        with Session(engine) as session:
            KeyRing(master, tables, engine).data_key(session, controller_scope(network_id, user_id))
            session.commit()
    finally:
        engine.dispose()


def rotate(platform: Platform) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.rotate_master_key",
                           "--amqp-uri", platform.amqp_uri], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env=platform.env())


def test_a_master_key_rotation_keeps_every_lead_readable(
        platform: Platform, base_url: str, make_network: Any, invite_member: Any,
        moved_clock: Any) -> None:
    moved_clock(DAY)
    staff = Api(base_url).login(*DEV_STAFF)
    tag = str(time.time_ns())[-8:]
    password = "Quartz-Harbour-Violet-81"
    net, admin = make_network(f"Rotation {tag}", "Cobalt-Meadow-Lantern-64", ["BE"])
    _, user = invite_member(admin, password)
    subscribe_by_card(user, "annual")
    site = staff.post("/api/staff/capture-sites", {"name": f"Rot {tag}", "url": "https://r.example"})
    now = datetime(DAY.year, DAY.month, DAY.day, 8, tzinfo=ZoneInfo("Europe/Paris")).isoformat()
    captured = [{"first_name": "Jeanne", "last_name": f"Rotation{chr(97 + i)}", "country": "BE",
                 "email": f"jeanne.{tag}.{i}@exemple.be",
                 "mobile": f"+32471{int(tag) % 1000:03d}{i:03d}", "postal_code": "1000",
                 "city": "Bruxelles", "source_url": "https://r.example/f", "consent_at": now}
                for i in range(6)]
    results = Api(base_url).post("/api/capture/leads", {"leads": captured},
                                 headers={"X-Capture-Key": site["key"]})["results"]
    assert all(r["status"] == "accepted" for r in results), results
    pid = buy_active_plan(user, 90, "premium", "BE")["id"]
    taken = take_leads(user, pid)
    before = wait_until(lambda: user.get("/api/leads?origin=purchased"),
                        lambda p: len(p["items"]) == len(taken))["items"]
    leads = {i["id"]: user.get(f"/api/leads/{i['id']}") for i in before}
    assert leads and all(lead["email"] for lead in leads.values())

    old = Path(platform.var_dir, "master.key").read_text().strip()
    new = base64.b64encode(os.urandom(32)).decode()
    seed_mailer_copy(platform, base64.b64decode(old), net["id"], user.get("/api/me")["id"])
    with step("the services restart on the new key, the old one still unwrapping"):
        restart_services(platform, SUIVI_MASTER_KEY=new, SUIVI_MASTER_KEYS_PREVIOUS=old)
        assert {i["id"] for i in user.get("/api/leads?origin=purchased")["items"]} == set(leads)

    with step("the tool re-wraps every service's keys while the platform runs"):
        done = rotate(platform)
        assert done.returncode == 0, done.stdout + done.stderr
        reports = [line for line in done.stdout.splitlines() if line.startswith("{")]
        assert len(reports) == len(SERVICES) and '"left_under_old_master": 0' in reports[0]
        assert sum('"rewrapped": 0' not in line for line in reports) >= 2  # accounts, leads...
        again = rotate(platform)  # idempotent: nothing left to re-wrap
        assert again.returncode == 0 and '"rewrapped": 0' in again.stdout
        assert all('"rewrapped": 0' in line for line in again.stdout.splitlines()
                   if line.startswith("{")), again.stdout
        # the platform's master key is now the new one: later tests on this shared
        # platform read it from the file, as a restored backup would be opened
        Path(platform.var_dir, "master.key").write_text(new + "\n")

    with step("without the old key every lead still reads back, by id and by email"):
        restart_services(platform, SUIVI_MASTER_KEYS_PREVIOUS="")
        again_user = Api(base_url).login(user.email, password)  # type: ignore[attr-defined]
        for lead_id, lead in leads.items():
            read = again_user.get(f"/api/leads/{lead_id}")
            assert {k: read.get(k) for k in FIELDS} == {k: lead.get(k) for k in FIELDS}
            found = again_user.get(f"/api/leads?email={lead['email']}")["items"]
            assert [i["id"] for i in found] == [lead_id]
        assert {i["id"] for i in again_user.get("/api/leads?origin=purchased")["items"]} \
            == set(leads)

    with step("no key of any scope, in any service, needs the old master key any more"):
        under_new = key_scopes(platform, base64.b64decode(new))
        under_old = key_scopes(platform, base64.b64decode(old))
        for service, (live, unopened) in under_new.items():
            assert unopened == [], (service, unopened)
            assert under_old[service][1] == live, service  # the old key opens none of them
        assert all(under_new[service][0] for service in ("accounts", "leads", "mailer"))
        for service in ("leads", "mailer"):  # the office's and the mailer's controller keys
            assert any(SCOPE_SEPARATOR in scope for scope in under_new[service][0]), service

    with step("a rotation of the network's data key keeps them readable too"):
        done = subprocess.run([sys.executable, "-m", "tools.rotate_data_key", "--network",
                               net["id"], "--amqp-uri", platform.amqp_uri], cwd=ROOT,
                              capture_output=True, text=True, timeout=600, env=platform.env())
        assert done.returncode == 0 and '"done": true' in done.stdout, done.stdout + done.stderr
        assert '"retired_versions": 1' in done.stdout, done.stdout
        for lead_id, lead in leads.items():
            read = again_user.get(f"/api/leads/{lead_id}")
            assert {k: read.get(k) for k in FIELDS} == {k: lead.get(k) for k in FIELDS}
            found = again_user.get(f"/api/leads?email={lead['email']}")["items"]
            assert [i["id"] for i in found] == [lead_id]

        with step("new leads are captured and sold under the new key"):
            more = [{**c, "email": f"marc.{tag}.{n}@exemple.be", "last_name": f"Apres{n}",
                     "mobile": f"+32472{int(tag) % 1000:03d}{n:03d}"}
                    for n, c in enumerate(captured[:2])]
            results = Api(base_url).post("/api/capture/leads", {"leads": more},
                                         headers={"X-Capture-Key": site["key"]})["results"]
            assert all(r["status"] == "accepted" for r in results), results
