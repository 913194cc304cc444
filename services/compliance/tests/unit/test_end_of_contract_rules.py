"""The end of contract's rules (annex IV.12): states, the delay, the archive, the
certificate."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook

from compliance.domain import end_of_contract as rules
from compliance.domain.requests import RuleError
from suivi_common.clock import PARIS

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DATA = {"leads": [{"lead_id": "l1", "record": {"email": "ana@example.fr", "city": "Lyon"}},
                  {"lead_id": "l2", "record": {"email": "=cmd()", "city": "Nîmes"}}],
        "notes": [{"lead_id": "l1", "text": "rappeler"}], "history": [], "emails": [],
        "claims": []}


def test_a_second_request_is_the_same_one_until_destroyed_then_refused() -> None:
    assert rules.check_start(None) is True
    for status in ("collecting", "ready", "shredding"):
        assert rules.check_start(status) is False
    with pytest.raises(RuleError) as err:
        rules.check_start("destroyed")
    assert err.value.code == "controller_data_destroyed" and err.value.conflict


def test_the_archive_is_downloadable_from_ready_until_destroyed() -> None:
    with pytest.raises(RuleError) as err:
        rules.check_downloadable("collecting")
    assert err.value.code == "archive_not_ready"
    rules.check_downloadable("ready")
    rules.check_downloadable("shredding")
    with pytest.raises(RuleError) as err:
        rules.check_downloadable("destroyed")
    assert err.value.code in rules.GONE


def test_receipt_is_confirmed_once_and_only_for_a_ready_archive() -> None:
    rules.check_confirmable("ready")
    for status, code in (("collecting", "archive_not_ready"), ("shredding", "already_confirmed"),
                         ("destroyed", "already_confirmed")):
        with pytest.raises(RuleError) as err:
            rules.check_confirmable(status)
        assert err.value.code == code


def test_the_shred_is_due_on_confirmation_or_after_the_delay_in_paris_days() -> None:
    ready = datetime(2026, 3, 20, 10, 0, tzinfo=PARIS)  # winter time; 30 days later: summer
    assert not rules.is_shred_due("ready", None, ready, ready + timedelta(days=1), 30)
    assert rules.is_shred_due("ready", ready, ready, ready + timedelta(minutes=1), 30)
    due = rules.shred_after(ready, 30)
    assert due.astimezone(PARIS).hour == 10 and due.date().isoformat() == "2026-04-19"
    assert not rules.is_shred_due("ready", None, ready, due - timedelta(seconds=1), 30)
    assert rules.is_shred_due("ready", None, ready, due, 30)
    assert not rules.is_shred_due("shredding", None, ready, due, 30)  # already under way
    assert not rules.is_shred_due("collecting", None, None, due, 30)


def test_the_archive_holds_json_csv_and_xlsx_of_every_category() -> None:
    archive = rules.build_archive("c1", "u1", [rules.Part("leads", 3, DATA)],
                                  {"name": "Suivi"}, NOW)
    assert archive.filename == "end-of-contract-u1.zip"
    z = zipfile.ZipFile(io.BytesIO(archive.content))
    names = z.namelist()
    assert names[:2] == ["archive.json", "archive.xlsx"]
    assert {"csv/leads/leads.csv", "csv/leads/notes.csv"} <= set(names)
    doc = json.loads(z.read("archive.json"))
    assert doc["services"]["leads"]["data"] == DATA and doc["controller"] == {"user_id": "u1"}
    rows = list(csv.DictReader(io.StringIO(z.read("csv/leads/leads.csv").decode("utf-8-sig"))))
    assert [r["record.email"] for r in rows] == ["ana@example.fr", "'=cmd()"]  # no formula
    assert rows[1]["record.city"] == "Nîmes"
    book = load_workbook(io.BytesIO(z.read("archive.xlsx")), read_only=True)
    assert book.sheetnames == ["leads.leads", "leads.notes"]
    sheet = list(book["leads.leads"].iter_rows(values_only=True))
    assert sheet[0] == ("_row", "lead_id", "record.email", "record.city")
    assert sheet[1][2] == "ana@example.fr" and sheet[2][2] == "'=cmd()"
    # pure: the same inputs, the same JSON and CSV (openpyxl stamps the workbook's save)
    again = zipfile.ZipFile(io.BytesIO(rules.build_archive(
        "c1", "u1", [rules.Part("leads", 3, DATA)], {"name": "Suivi"}, NOW).content))
    assert all(again.read(n) == z.read(n) for n in names if n != "archive.xlsx")


def test_long_or_clashing_sheet_names_stay_valid_and_distinct() -> None:
    taken: set[str] = set()
    a = rules._sheet_name("leads", "x" * 40, taken)
    b = rules._sheet_name("leads", "x" * 40, taken)
    assert len(a) <= 31 and len(b) <= 31 and a != b
    assert rules._sheet_name("leads", "a/b[c]", set()) == "leads.a_b_c_"


def test_the_certificate_records_what_went_the_keys_and_the_times() -> None:
    cert = rules.certificate(
        contract_id="c1", user_id="u1", requested_at=NOW, ready_at=NOW, confirmed_at=NOW,
        shred_requested_at=NOW,
        reports={"leads": {"shredded_at": "2026-03-02T10:00:00+00:00",
                           "counts": {"leads": 3, "notes": 1},
                           "keys": [{"scope": "net-1/u1", "key_id": "ab" * 16}]},
                 "mailer": {"shredded_at": "2026-03-02T09:59:00+00:00",
                            "counts": {"emails": 2, "under_network_key": 0},
                            "keys": [{"scope": "net-1/u1", "key_id": "ef" * 16}]}},
        archive_key={"service": "compliance", "scope": "eoc:c1", "key_id": "cd" * 16},
        processor={"name": "Suivi"}, issued_at=NOW + timedelta(hours=1))
    assert cert["kind"] == "certificate_of_destruction"
    assert cert["totals"] == {"leads": 3, "notes": 1, "emails": 2, "under_network_key": 0}
    # the same controller scope in two services' key tables: two keys, each named
    assert [(k["service"], k["key_id"]) for k in cert["keys"]] == [
        ("leads", "ab" * 16), ("mailer", "ef" * 16), ("compliance", "cd" * 16)]
    assert cert["services"]["mailer"]["keys"] == [
        {"service": "mailer", "scope": "net-1/u1", "key_id": "ef" * 16}]
    assert cert["timeline"]["destroyed_at"] == "2026-03-02T10:00:00+00:00"
    assert cert["timeline"]["receipt_confirmed_at"] == NOW.isoformat()
    assert all(rules.all_reported(rules.HOLDERS, list(cert["services"])) for _ in [0])
