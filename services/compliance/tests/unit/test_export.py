"""The access and portability archive (pure): flattening the services' answers into CSV
tables, the JSON document with the relevant processing activities, the ZIP, and how long
the export lives."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from compliance.domain import export
from compliance.domain.datamap import DSR_ACTIVITY
from compliance.domain.requests import RuleError
from suivi_common.clock import PARIS

ACCOUNTS = {"service": "accounts", "kind": "access", "format_version": 1, "accounts": [{
    "account": {"id": "u1", "role": "user", "network": {"id": "n1", "name": "Réseau A"}},
    "profile": {"email": "jeanne@example.org", "first_name": "Jeanne", "phone": None,
                "address": {"city": "Lyon", "postal_code": "69001"}},
    "terms_acceptances": [{"version": "2026-01", "ip": "192.0.2.1"},
                          {"version": "2026-02", "ip": "192.0.2.2"}],
    "sessions": [],
}]}
LEADS = {"service": "leads", "objection_recorded": False,
         "captured": [{"lead_id": "l1", "record": {"email": "jeanne@example.org",
                                                  "mobile": "+33612345678"}}],
         "office": [{"lead_id": "l2", "record": {"first_name": "=HYPERLINK(\"x\")"},
                     "tags": ["chaud", "rappel"],
                     "notes": [{"text": "Rappeler", "at": "2026-02-01"}]},
                    {"lead_id": "l3", "record": {"first_name": "Jeanne"},
                     "notes": [{"text": "-Absent", "at": "2026-02-02"}]}]}
COMPLETED = datetime(2026, 3, 25, 9, 0, tzinfo=UTC)  # 10:00 in Paris, winter time
FACTS = export.RequestFacts("r1", "access", COMPLETED - timedelta(days=3), COMPLETED,
                            "jeanne@example.org", None)
ACTIVITIES = [
    {"service": "accounts", "name": "Comptes", "purposes": ["gérer le compte", "facturer"],
     "recipients": ["personnel"], "legal_basis": "contrat"},
    {"service": "leads", "name": "Bureau", "purposes": ["prospection"],
     "recipients": ["l'utilisateur", "personnel"], "legal_basis": "contrat"},
    {"service": "plans", "name": "Forfaits", "purposes": ["livrer"], "recipients": []},
    {"service": "compliance", **DSR_ACTIVITY.as_dict()},
    {"service": "compliance", "name": "Journal d'audit", "purposes": ["prouver"],
     "recipients": []},
]


def tables(data: Any) -> dict[str, export.Table]:
    return {t.name: t for t in export.flatten(data)}


def test_each_list_of_records_is_a_table_with_dotted_columns() -> None:
    found = tables(ACCOUNTS)
    assert list(found) == ["accounts", "accounts.terms_acceptances"]  # no summary: envelope
    accounts = found["accounts"]
    assert accounts.columns == ["_row", "account.id", "account.role", "account.network.id",
                                "account.network.name", "profile.email",
                                "profile.first_name", "profile.phone", "profile.address.city",
                                "profile.address.postal_code"]
    assert accounts.rows[0]["profile.email"] == "jeanne@example.org"
    assert accounts.rows[0]["profile.phone"] == ""
    terms = found["accounts.terms_acceptances"]
    assert [(r["_row"], r["_parent_row"], r["version"]) for r in terms.rows] == [
        ("1", "1", "2026-01"), ("2", "1", "2026-02")]


def test_nested_lists_point_to_their_record_and_plain_values_stay_at_the_top() -> None:
    found = tables(LEADS)
    assert list(found) == ["summary", "captured", "office", "office.notes"]
    assert found["summary"].rows == [{"objection_recorded": "false"}]
    office = found["office"]
    assert office.rows[0]["tags"] == '["chaud", "rappel"]'
    assert office.rows[1].get("tags") is None and "tags" in office.columns
    notes = found["office.notes"]
    assert [(r["_parent_row"], r["text"]) for r in notes.rows] == [("1", "Rappeler"),
                                                                  ("2", "'-Absent")]


def test_cells_neutralise_formulas_but_not_numbers_or_phones() -> None:
    assert export.cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert export.cell("@SUM(A1)") == "'@SUM(A1)"
    assert export.cell("+33612345678") == "+33612345678"
    assert export.cell("-12.5") == "-12.5"
    assert (export.cell(None), export.cell(True), export.cell(3), export.cell(1.5)) == (
        "", "true", "3", "1.5")
    assert export.cell({"b": 1, "a": "é"}) == '{"a": "é", "b": 1}'


@pytest.mark.parametrize(("data", "expected"), [
    (None, {}),
    ([], {}),
    ({"service": "mailer", "kind": "access"}, {}),
    ("just text", {"summary": [{"value": "just text"}]}),
    ([{"id": 1}, {"id": 2}], {"records": [{"_row": "1", "id": "1"},
                                          {"_row": "2", "id": "2"}]}),
])
def test_any_answer_flattens(data: Any, expected: dict[str, list[dict[str, str]]]) -> None:
    assert {name: t.rows for name, t in tables(data).items()} == expected


def answers() -> list[export.Answer]:
    return [export.Answer("leads", True, 3, COMPLETED, LEADS),
            export.Answer("accounts", True, 4, COMPLETED - timedelta(hours=1), ACCOUNTS),
            export.Answer("plans", False, 0, COMPLETED, None)]


def archive() -> export.Archive:
    until = export.available_until(COMPLETED, 7)
    return export.build(FACTS, answers(), ACTIVITIES, {"mailer": "no data map declared"},
                        {"name": "Suivi", "dpo": {"name": "Claire", "email": "dpo@x"}},
                        COMPLETED + timedelta(hours=2), until)


def read(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_the_archive_holds_one_json_and_one_csv_per_category() -> None:
    built = archive()
    assert built.filename == "export-access-r1.zip"
    files = read(built.content)
    assert list(files) == ["export.json", "csv/accounts/accounts.csv",
                           "csv/accounts/accounts.terms_acceptances.csv",
                           "csv/leads/summary.csv", "csv/leads/captured.csv",
                           "csv/leads/office.csv", "csv/leads/office.notes.csv",
                           "csv/processing/activities.csv"]
    doc = json.loads(files["export.json"])
    assert doc == built.document
    assert doc["files"] == list(files)
    assert doc["services"]["accounts"]["data"] == ACCOUNTS  # exactly as reported
    assert doc["services"]["plans"] == {"found": False, "records_affected": 0,
                                        "answered_at": COMPLETED.isoformat(), "data": None}
    assert doc["request"]["searched_for"] == {"email": "jeanne@example.org", "phone": None}
    assert doc["available_until"] == "2026-04-01T10:00:00+02:00"
    rows = list(csv.DictReader(io.StringIO(files["csv/accounts/accounts.csv"].decode(
        "utf-8-sig"))))
    assert rows[0]["profile.email"] == "jeanne@example.org"
    assert rows[0]["account.network.name"] == "Réseau A"
    assert files["csv/leads/office.csv"].startswith(b"\xef\xbb\xbf_row,lead_id,")


def test_the_document_lists_the_activities_of_the_services_that_found_the_person() -> None:
    processing = archive().document["processing"]
    assert [(a["service"], a["name"]) for a in processing["activities"]] == [
        ("accounts", "Comptes"), ("leads", "Bureau"), ("compliance", DSR_ACTIVITY.name)]
    assert processing["purposes"] == ["gérer le compte", "facturer", "prospection",
                                      *DSR_ACTIVITY.purposes]
    assert processing["recipients"][:2] == ["personnel", "l'utilisateur"]
    assert processing["missing"] == {"mailer": "no data map declared"}
    files = read(archive().content)
    rows = list(csv.DictReader(io.StringIO(files["csv/processing/activities.csv"].decode(
        "utf-8-sig"))))
    assert json.loads(rows[0]["purposes"]) == ["gérer le compte", "facturer"]


def test_the_same_answers_make_the_same_bytes() -> None:
    assert archive().content == archive().content


def test_the_export_lives_seven_calendar_days_in_paris() -> None:
    until = export.available_until(COMPLETED, 7)  # across the change to summer time
    assert until.astimezone(PARIS).replace(tzinfo=None) == datetime(2026, 4, 1, 10, 0)
    assert until - COMPLETED == timedelta(days=7, hours=-1)

    def at(now: datetime, destroyed: datetime | None = None) -> export.ExportState:
        return export.state("access", "completed", COMPLETED, destroyed, now, 7)

    assert at(until - timedelta(seconds=1)).available
    assert not at(until).available and export.is_due_for_destruction(at(until), until)
    gone = at(COMPLETED, destroyed=until)
    assert not gone.available and not export.is_due_for_destruction(gone, until)
    assert at(COMPLETED).as_dict() == {"available": True,
                                       "available_until": until.isoformat(),
                                       "destroyed_at": None}


@pytest.mark.parametrize(("kind", "status", "destroyed", "now_days", "code"), [
    ("erasure", "completed", None, 1, "export_not_applicable"),
    ("access", "in_progress", None, 1, "request_not_completed"),
    ("portability", "denied", None, 1, "request_not_completed"),
    ("access", "completed", COMPLETED + timedelta(days=7), 8, "export_destroyed"),
    ("portability", "completed", None, 8, "export_expired"),
])
def test_downloads_are_refused_outside_the_window(kind: str, status: str,
                                                  destroyed: datetime | None, now_days: int,
                                                  code: str) -> None:
    completed = COMPLETED if status in ("completed", "denied") else None
    state = export.state(kind, status, completed, destroyed,
                         COMPLETED + timedelta(days=now_days), 7)
    with pytest.raises(RuleError) as err:
        export.check_downloadable(state, status)
    assert err.value.code == code and err.value.conflict


def test_a_completed_access_within_its_days_is_downloadable() -> None:
    state = export.state("portability", "completed", COMPLETED, None,
                         COMPLETED + timedelta(days=6), 7)
    export.check_downloadable(state, "completed")
