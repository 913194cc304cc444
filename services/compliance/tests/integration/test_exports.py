"""The access and portability export over the broker: fake holders report ``data``, the
archive is downloaded while it is available, refused outside that window, and destroyed
by the timer once its days are over on the platform clock, leaving nothing readable."""
from __future__ import annotations

import base64
import copy
import io
import json
import uuid
import zipfile
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nameko import config
from sqlalchemy import text
from sqlalchemy.orm import Session

from compliance.models import common, metadata
from compliance.service import ComplianceService
from compliance.testing import leads_map
from compliance.usecases import exports
from compliance.usecases.context import Ctx
from suivi_common import clock, outbox
from suivi_common.auth import Principal
from suivi_common.crypto import KeyDestroyed, Vault
from suivi_common.errors import Conflict, Forbidden, NotFound
from suivi_common.testing import infra
from suivi_common.testing.waiting import wait_for

T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
MARKER = "Quimperlé-5e1c"  # a value only the services' answers hold
ACCOUNTS_DATA = {"service": "accounts", "kind": "access", "format_version": 1, "accounts": [{
    "account": {"id": "u-1", "role": "user"},
    "profile": {"email": "jean.dupont@example.org", "first_name": "Jean",
                "address": {"city": MARKER}},
    "payments": [{"id": "p-1", "amount_cents": 4900}, {"id": "p-2", "amount_cents": 4900}]}]}
LEADS_DATA = {"service": "leads", "objection_recorded": False,
              "captured": [{"lead_id": "l-1", "record": {"email": "jean.dupont@example.org",
                                                        "city": MARKER}}],
              "office": []}


@pytest.fixture(autouse=True)
def february(h: Any, report_data: dict[str, Any], leads_data_map: dict[str, Any]) -> None:
    clock.set_now(T0)
    report_data.update(accounts=copy.deepcopy(ACCOUNTS_DATA), leads=copy.deepcopy(LEADS_DATA))
    leads_data_map.update(leads_map())


def register(h: Any, kind: str = "access") -> dict[str, Any]:
    return h.compliance.register_request(kind, "Jean.Dupont@Example.org", None,
                                         (T0 - timedelta(days=1)).isoformat())


def completed(h: Any, kind: str = "access") -> dict[str, Any]:
    request = register(h, kind)
    h.compliance.process_request(request["id"])
    return wait_for(lambda: (v if (v := h.compliance.get_request(request["id"]))["status"]
                             == "completed" else None), what="request completed")


def unzip(answer: dict[str, Any]) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(answer["content_b64"]))) as z:
        return {name: z.read(name) for name in z.namelist()}


def sweep(h: Any) -> int:
    return int(h.as_timer(exports.destroy_expired))


def test_a_completed_access_request_downloads_everything_found(h: Any) -> None:
    done = completed(h)
    until = datetime.fromisoformat(done["export"]["available_until"])
    assert done["export"]["available"] and done["export"]["destroyed_at"] is None
    assert until == datetime.fromisoformat(done["completed_at"]) + timedelta(days=7)
    receipt = h.compliance.request_receipt(done["id"])
    assert receipt["export"] == {**done["export"], "built_at": None}
    answer = h.compliance.request_export(done["id"])
    assert answer["filename"] == f"export-access-{done['id']}.zip"
    assert answer["content_type"] == "application/zip"
    files = unzip(answer)
    doc = json.loads(files["export.json"])
    assert doc["services"]["accounts"]["data"] == ACCOUNTS_DATA
    assert doc["services"]["leads"]["data"] == LEADS_DATA
    assert doc["services"]["mailer"]["data"] is None  # found, but reported no data
    assert doc["request"]["searched_for"]["email"] == "jean.dupont@example.org"
    assert doc["processor"]["dpo"] == {"name": "Claire Dupont", "email": "dpo@suivi.test"}
    names = [(a["service"], a["name"]) for a in doc["processing"]["activities"]]
    assert ("leads", "Bureau des prospects") in names
    assert ("compliance", "Demandes d'exercice des droits des personnes") in names
    assert "l'utilisateur" in doc["processing"]["recipients"]
    # accounts, plans and mailer do not run here: their maps are missing, and say so
    assert set(doc["processing"]["missing"]) == {"accounts", "plans", "mailer"}
    assert {"csv/accounts/accounts.csv", "csv/accounts/accounts.payments.csv",
            "csv/leads/captured.csv", "csv/leads/summary.csv",
            "csv/processing/activities.csv"} <= set(files)
    assert MARKER in files["csv/leads/captured.csv"].decode("utf-8-sig")
    # built once: a second download serves the same bytes
    assert h.compliance.request_export(done["id"])["content_b64"] == answer["content_b64"]
    assert h.compliance.request_receipt(done["id"])["export"]["built_at"] is not None
    kinds = [e["kind"] for e in h.compliance.audit_log()["items"]]
    assert kinds.count("dsr.export_downloaded") == 2
    assert h.compliance.audit_verify()["ok"]


def test_only_completed_access_and_portability_requests_have_an_export(
        h: Any, holders: dict[str, str]) -> None:
    erasure = completed(h, "erasure")
    with pytest.raises(Conflict) as err:
        h.compliance.request_export(erasure["id"])
    assert err.value.code == "export_not_applicable"
    assert erasure["export"] is None
    assert h.compliance.request_receipt(erasure["id"])["export"] is None
    holders["mailer"] = "silent"
    waiting = register(h, "portability")
    h.compliance.process_request(waiting["id"])
    with pytest.raises(Conflict) as err:
        h.compliance.request_export(waiting["id"])
    assert err.value.code == "request_not_completed"
    assert h.compliance.get_request(waiting["id"])["export"] == {
        "available": False, "available_until": None, "destroyed_at": None}
    for unknown in (str(uuid.uuid4()), "nope"):
        with pytest.raises(NotFound):
            h.compliance.request_export(unknown)
    with pytest.raises(Forbidden):
        h.staff.request_export(waiting["id"])


def test_after_seven_days_the_export_is_destroyed_and_nothing_survives(h: Any) -> None:
    done = completed(h, "portability")
    h.compliance.request_export(done["id"])  # the archive is built and stored
    backup = {  # what a database backup taken now would hold
        "answers": [(r.service, bytes(r.data)) for r in h.rows(
            "SELECT service, data FROM dsr_tasks WHERE data IS NOT NULL ORDER BY service")],
        "archive": bytes(h.scalar("SELECT archive FROM dsr_exports"))}
    assert [s for s, _ in backup["answers"]] == ["accounts", "leads"]
    until = datetime.fromisoformat(done["export"]["available_until"])

    clock.set_now(until - timedelta(seconds=1))
    assert sweep(h) == 0
    assert h.compliance.request_export(done["id"])["filename"]
    clock.set_now(until)
    with pytest.raises(Conflict) as err:  # past its time, even before the sweep
        h.compliance.request_export(done["id"])
    assert err.value.code == "export_expired"
    assert sweep(h) == 1
    assert sweep(h) == 0  # idempotent

    assert h.scalar("SELECT count(*) FROM dsr_tasks WHERE data IS NOT NULL") == 0
    assert h.scalar("SELECT count(*) FROM dsr_exports") == 0
    assert h.scalar("SELECT destroyed_at IS NOT NULL AND wrapped_key IS NULL FROM data_keys "
                    "WHERE scope = :s", s=f"dsr-data:{done['id']}")
    rid = uuid.UUID(done["id"])

    def reopen(ctx: Ctx, table: str, column: str, blob: bytes) -> None:
        with pytest.raises(KeyDestroyed):
            ctx.vault.decrypt(f"dsr-data:{rid}", table, column, rid, blob)

    for service, blob in backup["answers"]:  # the backup's copy is unreadable too
        h.as_timer(lambda ctx, s=service, b=blob: reopen(ctx, "dsr_tasks", f"data:{s}", b))
    h.as_timer(lambda ctx: reopen(ctx, "dsr_exports", "archive", backup["archive"]))
    for table in metadata.sorted_tables:  # and no table holds a value of the answers
        dump = " ".join(str(r[0]) for r in h.rows(f'SELECT row_to_json(t)::text FROM '
                                                  f'"{table.name}" t'))
        assert MARKER not in dump and "jean.dupont" not in dump, table.name

    with pytest.raises(Conflict) as err:
        h.compliance.request_export(done["id"])
    assert err.value.code == "export_destroyed"
    receipt = h.compliance.request_receipt(done["id"])
    assert receipt["export"]["available"] is False
    destroyed_at = datetime.fromisoformat(receipt["export"]["destroyed_at"])
    assert until <= destroyed_at < until + timedelta(minutes=1)  # the clock keeps running
    assert receipt["status"] == "completed" and receipt["records_affected"] == 8
    # the request itself stays, with its identifiers
    assert h.compliance.get_request(done["id"])["email"] == "jean.dupont@example.org"
    entry = next(e for e in h.compliance.audit_log()["items"]
                 if e["kind"] == "dsr.export_destroyed")
    assert entry["subject"] == {"type": "data_subject_request", "id": done["id"]}
    assert entry["details"] == {"kind": "portability", "completed_at": done["completed_at"],
                                "available_until": until.isoformat(),
                                "services": ["accounts", "leads"], "archive_built": True}
    assert h.compliance.audit_verify()["ok"]


def test_the_window_is_a_setting(h: Any) -> None:
    done = completed(h)
    with config.patch({"DSR_EXPORT_DAYS": 2}, clear=False):
        view = h.compliance.get_request(done["id"])
        assert datetime.fromisoformat(view["export"]["available_until"]) == \
            datetime.fromisoformat(done["completed_at"]) + timedelta(days=2)
        clock.set_now(T0 + timedelta(days=2, hours=1))
        assert sweep(h) == 1
    assert h.compliance.get_request(done["id"])["export"]["destroyed_at"] is not None


def test_a_destruction_racing_the_first_download_stores_no_archive(h: Any) -> None:
    """The download built its archive while the timer destroyed the answers: it finds
    the request destroyed under the lock and stores nothing."""
    done = completed(h)
    until = datetime.fromisoformat(done["export"]["available_until"])
    with Session(h.engine) as session, session.begin():
        session.execute(text("SELECT 1 FROM dsr_requests WHERE id = :i FOR UPDATE"),
                        {"i": done["id"]})
        call = h.compliance.request_export.call_async(done["id"])
        wait_for(lambda: h.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE '%FROM dsr_requests%'") == 1,
            what="the download waiting for the request's lock")
        clock.set_now(until + timedelta(minutes=1))
        ctx = Ctx(session=session, vault=Vault(h.database.keyring, session),
                  emit=lambda kind, payload: outbox.emit(session, common, kind, payload),
                  principal=Principal("compliance", "service"))
        assert exports.destroy_expired(ctx) == 1
    with pytest.raises(Conflict) as err:
        call.result()
    assert err.value.code == "export_destroyed"
    assert h.scalar("SELECT count(*) FROM dsr_exports") == 0


def test_a_denied_request_keeps_no_answers(h: Any, holders: dict[str, str]) -> None:
    holders["plans"] = "silent"
    request = register(h)
    h.compliance.process_request(request["id"])
    wait_for(lambda: h.scalar("SELECT count(*) FROM dsr_tasks WHERE data IS NOT NULL") == 2,
             what="two answers with data")
    h.compliance.deny_request(request["id"], "Identité non vérifiée")
    assert h.scalar("SELECT count(*) FROM dsr_tasks WHERE data IS NOT NULL") == 0
    assert h.scalar("SELECT destroyed_at IS NOT NULL FROM data_keys WHERE scope = :s",
                    s=f"dsr-data:{request['id']}")
    with pytest.raises(Conflict) as err:
        h.compliance.request_export(request["id"])
    assert err.value.code == "request_not_completed"


def test_the_timer_destroys_expired_exports(h: Any) -> None:
    """The sweep runs as compliance's timer (a second instance, ticking fast)."""
    done = completed(h)
    clock.set_now(T0 + timedelta(days=8))
    with ExitStack() as stack:
        stack.enter_context(infra.running(dict(h.cfg, DSR_EXPORT_SWEEP_SECONDS=0.2),
                                          ComplianceService))
        wait_for(lambda: h.scalar("SELECT export_destroyed_at FROM dsr_requests WHERE id = :i",
                                  i=done["id"]), what="the export destroyed by the timer")
    assert h.scalar("SELECT count(*) FROM dsr_tasks WHERE data IS NOT NULL") == 0
