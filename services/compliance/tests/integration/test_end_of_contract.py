"""The end of contract on the running compliance service (real PostgreSQL and RabbitMQ):
leads' side is played by publishing its events, signed as leads' relay signs them."""
from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from compliance.usecases import end_of_contract
from suivi_common import clock
from suivi_common.errors import Conflict, Forbidden, NotFound
from suivi_common.testing.waiting import wait_for

USER = "u0000000-0000-4000-8000-00000000eoc1"
DATA = {"leads": [{"lead_id": "l1", "record": {"email": "ana@example.fr"}}],
        "notes": [{"lead_id": "l1", "text": "rappeler"}], "history": [], "emails": [],
        "claims": []}


def status_of(h: Any, user_id: str = USER) -> str:
    return str(h.compliance.controller_end_of_contract(user_id)["status"])


MAILER_DATA = {"emails": [{"email_id": "e1", "lead_id": "l1", "to": "ana@example.fr",
                           "subject": "Votre projet", "body_text": "Bonjour"}]}
MAILER_KEY = {"scope": "net-1/x", "key_id": "m" * 32}


def report_data(h: Any, contract: dict[str, Any]) -> None:
    """Both holders' parts: the archive is built once the last one came."""
    ids = {"contract_id": contract["contract_id"], "user_id": contract["user_id"]}
    h.publish("leads", "controller_data_reported", {
        **ids, "service": "leads", "records": 2, "data": DATA})
    h.settled()
    assert status_of(h, contract["user_id"]) == "collecting"  # the mailer's part is due
    h.publish("mailer", "controller_data_reported", {
        **ids, "service": "mailer", "records": 1, "data": MAILER_DATA})
    wait_for(lambda: status_of(h, contract["user_id"]) == "ready", what="archive ready")


def report_shredded(h: Any, contract: dict[str, Any]) -> None:
    ids = {"contract_id": contract["contract_id"], "user_id": contract["user_id"]}
    h.publish("leads", "controller_data_shredded", {
        **ids, "service": "leads", "shredded_at": clock.now().isoformat(),
        "counts": {"leads": 1, "notes": 1}, "keys": [{"scope": "net-1/x", "key_id": "k" * 32}]})
    h.settled()
    assert status_of(h, contract["user_id"]) == "shredding"  # the mailer's part is due
    h.publish("mailer", "controller_data_shredded", {
        **ids, "service": "mailer", "shredded_at": clock.now().isoformat(),
        "counts": {"emails": 1}, "keys": [MAILER_KEY]})
    wait_for(lambda: status_of(h, contract["user_id"]) == "destroyed", what="destroyed")


def test_the_whole_flow_is_idempotent_and_refuses_clearly(h: Any) -> None:
    first = h.compliance.end_contract(USER)
    assert first["status"] == "collecting" and first["created"] is True
    again = h.compliance.end_contract(USER)
    assert again["contract_id"] == first["contract_id"] and again["created"] is False
    asked = h.wait_events("controller_data_requested", 1)
    assert [(a["user_id"], a["attempt"]) for a in asked] == [(USER, 1)]

    me = h.user(USER)
    with pytest.raises(Conflict) as err:
        me.my_end_of_contract_archive()
    assert err.value.code == "archive_not_ready"
    with pytest.raises(NotFound):  # another controller has none
        h.user("u-other").my_end_of_contract()
    with pytest.raises(Forbidden):  # platform staff is not compliance
        h.staff.end_contract(USER)

    report_data(h, first)
    doc = me.my_end_of_contract_archive()
    z = zipfile.ZipFile(io.BytesIO(base64.b64decode(doc["content_b64"])))
    services = json.loads(z.read("archive.json"))["services"]
    assert services["leads"]["data"] == DATA and services["mailer"]["data"] == MAILER_DATA
    assert {"csv/leads/notes.csv", "csv/mailer/emails.csv"} <= set(z.namelist())
    assert "leads.leads" in load_workbook(io.BytesIO(z.read("archive.xlsx"))).sheetnames
    assert h.compliance.controller_archive(USER)["content_b64"] == doc["content_b64"]
    with pytest.raises(Conflict) as err:
        h.compliance.controller_certificate(USER)
    assert err.value.code == "not_destroyed_yet"

    confirmed = me.confirm_end_of_contract_receipt()
    assert confirmed["status"] == "shredding" and confirmed["confirmed_at"]
    with pytest.raises(Conflict) as err:
        me.confirm_end_of_contract_receipt()
    assert err.value.code == "already_confirmed"
    assert [s["attempt"] for s in h.wait_events("controller_shred_requested", 1)] == [1]

    report_shredded(h, first)
    cert = h.compliance.controller_certificate(USER)
    assert cert["totals"] == {"leads": 1, "notes": 1, "emails": 1}
    assert {"service": "mailer", **MAILER_KEY} in cert["keys"]  # the mailer's key is named
    assert cert["services"]["mailer"]["counts"] == {"emails": 1}
    assert cert["controller"] == {"user_id": USER}
    archive_key = cert["archive"]
    assert archive_key["scope"] == f"eoc:{first['contract_id']}" and archive_key["key_id"]
    with pytest.raises(Conflict) as err:
        me.my_end_of_contract_archive()
    assert err.value.code == "archive_destroyed"
    with pytest.raises(Conflict) as err:
        h.compliance.end_contract(USER)
    assert err.value.code == "controller_data_destroyed"
    # compliance's own copy is crypto-shredded: no sealed archive, its key gone
    assert h.scalar("SELECT archive IS NULL FROM end_of_contracts") is True
    assert h.scalar("SELECT wrapped_key IS NULL FROM data_keys WHERE scope = :s",
                    s=archive_key["scope"]) is True
    # a report delivered again changes nothing
    h.publish("leads", "controller_data_shredded", {
        "contract_id": first["contract_id"], "user_id": USER, "service": "leads",
        "shredded_at": clock.now().isoformat(), "counts": {"leads": 99}, "keys": []})
    h.settled()
    assert h.compliance.controller_certificate(USER) == cert
    kinds = [e["kind"] for e in h.compliance.audit_log(limit=50)["items"]]
    assert {"eoc.requested", "eoc.archive_ready", "eoc.archive_downloaded",
            "eoc.receipt_confirmed", "eoc.destruction_requested", "eoc.destroyed"} <= set(kinds)
    assert h.compliance.audit_verify()["ok"] is True


def test_without_confirmation_the_delay_starts_the_destruction(h: Any) -> None:
    start = clock.now()
    contract = h.compliance.end_contract(USER)
    report_data(h, contract)
    h.events.clear()
    ready = h.scalar("SELECT ready_at FROM end_of_contracts")
    clock.freeze(ready + timedelta(days=29, hours=23))
    assert h.as_timer(end_of_contract.sweep)["destruction_started"] == 0
    clock.freeze(ready + timedelta(days=30, hours=1))
    assert h.as_timer(end_of_contract.sweep)["destruction_started"] == 1
    assert status_of(h) == "shredding" and start < clock.now()
    assert h.scalar("SELECT confirmed_at FROM end_of_contracts") is None
    assert h.wait_events("controller_shred_requested", 1)[0]["user_id"] == USER


def test_a_late_holder_is_asked_again(h: Any) -> None:
    h.compliance.end_contract(USER)
    h.wait_events("controller_data_requested", 1)
    assert h.as_timer(end_of_contract.sweep)["asked_again"] == 0
    clock.freeze(clock.now() + timedelta(hours=2))  # past DSR_TASK_LATE_SECONDS
    assert h.as_timer(end_of_contract.sweep)["asked_again"] == 1
    attempts = [a["attempt"] for a in h.wait_events("controller_data_requested", 2)]
    assert attempts == [1, 2]
    # an answer for another controller is not this one's
    row = h.compliance.controller_end_of_contract(USER)
    h.publish("leads", "controller_data_reported", {
        "contract_id": row["contract_id"], "user_id": "someone-else", "service": "leads",
        "records": 1, "data": DATA})
    h.settled()
    assert status_of(h) == "collecting"
    with h.engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM end_of_contracts")).scalar() == 1
