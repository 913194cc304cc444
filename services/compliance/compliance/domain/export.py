"""The access and portability export (GDPR art. 15 and 20; annex IV.8): what the holding
services found about the person, as one machine-readable archive, and how long it lives.

The archive is a ZIP holding

* ``export.json``: one document with the request, every service's answer (its ``data``
  exactly as reported), the processing activities that concern the person (purposes,
  legal basis, recipients, retention: the register's, from the services' data maps) and
  the list of CSV files;
* one CSV per category, ``csv/<service>/<category>.csv``: a service's ``data`` flattened
  (below), and ``csv/processing/activities.csv``.

Flattening a service's ``data`` (any JSON): every list of records (objects) becomes a
table, named by its path (``accounts``, ``accounts.payments``, ``office.notes``); its
rows are numbered (``_row``), and a list nested in a record is a table of its own whose
rows point to their record (``_parent_row``). Inside a record, nested objects become
dotted columns (``profile.address.city``), lists of plain values a JSON cell. What is
left at the top (plain values and objects outside any list) is the one-row ``summary``
table, without the envelope keys ``service``, ``kind`` and ``format_version``. CSV is
RFC 4180 (comma, CRLF) in UTF-8 with a byte-order mark, so spreadsheets read accents
right; text a spreadsheet would run as a formula gets a leading apostrophe, as in the
office's exports (the JSON keeps every value exact).

Lifetime. The export is available from the request's completion for ``days`` calendar
days on the platform clock (Paris wall-clock time: seven days after 10:00 is 10:00, summer
time or not), then destroyed: the stored answers and any built archive are deleted and
their key shredded.
"""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from compliance.domain.datamap import DSR_ACTIVITY
from compliance.domain.requests import Kind, RuleError, Status
from suivi_common.clock import PARIS

FORMAT_VERSION = 1
DEFAULT_DAYS = 7
EXPORT_KINDS = frozenset({Kind.ACCESS, Kind.PORTABILITY})
JSON_NAME = "export.json"
CONTENT_TYPE = "application/zip"
#: keys of a service's answer that only say what it is (kept in the JSON, not in CSV)
ENVELOPE = frozenset({"service", "kind", "format_version"})
ROW, PARENT = "_row", "_parent_row"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9][0-9.]*")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


# --- lifetime -------------------------------------------------------------------------------

def available_until(completed_at: datetime, days: int) -> datetime:
    """``days`` calendar days after completion, same wall-clock time in Paris."""
    return completed_at.astimezone(PARIS) + timedelta(days=days)


@dataclass(frozen=True)
class ExportState:
    applicable: bool            # an access or portability request
    available: bool             # downloadable now
    available_until: datetime | None
    destroyed_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {"available": self.available,
                "available_until": _iso(self.available_until),
                "destroyed_at": _iso(self.destroyed_at)}


def state(kind: str, status: str, completed_at: datetime | None,
          destroyed_at: datetime | None, now: datetime, days: int) -> ExportState:
    applicable = kind in {k.value for k in EXPORT_KINDS}
    until = available_until(completed_at, days) \
        if applicable and status == Status.COMPLETED.value and completed_at is not None \
        else None
    return ExportState(applicable, until is not None and destroyed_at is None and now < until,
                       until, destroyed_at)


def is_due_for_destruction(s: ExportState, now: datetime) -> bool:
    return s.destroyed_at is None and s.available_until is not None \
        and now >= s.available_until


def check_downloadable(s: ExportState, status: str) -> None:
    """Refusals, in this order: not an export kind, not completed (409); destroyed or
    past its time (``gone``: 410 at the gateway)."""
    if not s.applicable:
        raise RuleError("Only an access or portability request has an export",
                        "export_not_applicable", conflict=True)
    if status != Status.COMPLETED.value or s.available_until is None:
        raise RuleError("The export exists once the request is completed",
                        "request_not_completed", conflict=True)
    if s.destroyed_at is not None:
        raise RuleError("The export was destroyed", "export_destroyed", conflict=True)
    if not s.available:
        raise RuleError("The export is past its time and is being destroyed",
                        "export_expired", conflict=True)


#: the refusals the gateway answers 410 Gone
GONE = frozenset({"export_destroyed", "export_expired"})


# --- flattening ---------------------------------------------------------------------------------

@dataclass
class Table:
    """One CSV: ``columns`` in the order first met, rows as dicts of cells."""

    name: str
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)

    def add(self, row: dict[str, str]) -> None:
        for column in row:
            if column not in self.columns:
                self.columns.append(column)
        self.rows.append(row)

    def csv_bytes(self) -> bytes:
        out = io.StringIO(newline="")
        writer = csv.writer(out)
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([row.get(c, "") for c in self.columns])
        return out.getvalue().encode("utf-8-sig")


def cell(value: Any) -> str:
    """One CSV cell: empty for null, ``true``/``false``, numbers as written, lists and
    objects as compact JSON; text that would run as a formula is neutralised (a signed
    number, such as an E.164 phone, is not)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        if value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
            return "'" + value
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


class _Flattener:
    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}

    def table(self, name: str) -> Table:
        return self.tables.setdefault(name, Table(name))

    def fields(self, record: Mapping[str, Any], path: str, row_number: int | None,
               prefix: str = "") -> dict[str, str]:
        """A record's own cells; its lists of records go to child tables of ``path``."""
        cells: dict[str, str] = {}
        for key, value in record.items():
            name = f"{prefix}{key}"
            if isinstance(value, Mapping):
                cells.update(self.fields(value, path, row_number, prefix=f"{name}."))
            elif _is_records(value):
                self.rows(f"{path}.{name}" if path else name, value, row_number)
            elif isinstance(value, list) and not value:
                continue  # nothing to show; the JSON has the empty list
            else:
                cells[name] = cell(value)
        return cells

    def rows(self, path: str, records: Sequence[Mapping[str, Any]],
             parent: int | None) -> None:
        table = self.table(path)
        for record in records:
            number = len(table.rows) + 1
            head = {ROW: str(number)}
            if parent is not None:
                head[PARENT] = str(parent)
            table.add({**head, **self.fields(record, path, number)})


def flatten(data: Any) -> list[Table]:
    """A service's ``data`` as tables (see the module): ``summary`` first, if any, then
    the lists of records in the order they were met."""
    flat = _Flattener()
    summary: dict[str, str] = {}
    if isinstance(data, Mapping):
        summary = flat.fields({k: v for k, v in data.items() if k not in ENVELOPE}, "", None)
    elif _is_records(data):
        flat.rows("records", data, None)
    elif data is not None and data != []:
        summary = {"value": cell(data)}
    tables = list(flat.tables.values())
    if summary:
        top = Table("summary")
        top.add(summary)
        tables.insert(0, top)
    return tables


# --- the archive --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RequestFacts:
    id: str
    kind: str
    received_at: datetime
    completed_at: datetime
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class Answer:
    """One service's report on its task."""

    service: str
    found: bool | None
    records_affected: int | None
    answered_at: datetime | None
    data: Any


@dataclass(frozen=True)
class Archive:
    filename: str
    content: bytes
    document: dict[str, Any]


def relevant_activities(activities: Iterable[Mapping[str, Any]],
                        found_by: Iterable[str]) -> list[dict[str, Any]]:
    """The register's activities (each with its ``service``) that concern the person: those
    of every service that found them, and compliance's handling of the request itself."""
    services = set(found_by)
    return [dict(a) for a in activities
            if a.get("service") in services
            or (a.get("service") == "compliance" and a.get("name") == DSR_ACTIVITY.name)]


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _file_name(service: str, table: str) -> str:
    return f"csv/{_UNSAFE_NAME.sub('_', service)}/{_UNSAFE_NAME.sub('_', table)}.csv"


def build(request: RequestFacts, answers: Sequence[Answer],
          activities: Iterable[Mapping[str, Any]], missing: Mapping[str, str],
          processor: Mapping[str, Any], generated_at: datetime, until: datetime) -> Archive:
    """The archive (pure: the same inputs give the same bytes)."""
    ordered = sorted(answers, key=lambda a: a.service)
    relevant = relevant_activities(activities, [a.service for a in ordered if a.found])
    files: dict[str, bytes] = {}
    for answer in ordered:
        for table in flatten(answer.data):
            files[_file_name(answer.service, table.name)] = table.csv_bytes()
    if relevant:
        files[_file_name("processing", "activities")] = flatten(
            {"activities": relevant})[0].csv_bytes()
    document = {
        "format_version": FORMAT_VERSION,
        "generated_at": generated_at.isoformat(),
        "available_until": until.isoformat(),
        "request": {"id": request.id, "kind": request.kind,
                    "received_at": request.received_at.isoformat(),
                    "completed_at": request.completed_at.isoformat(),
                    "searched_for": {"email": request.email, "phone": request.phone}},
        "processor": dict(processor),
        "services": {a.service: {"found": a.found, "records_affected": a.records_affected,
                                 "answered_at": _iso(a.answered_at), "data": a.data}
                     for a in ordered},
        "processing": {
            "activities": relevant,
            "purposes": _unique(p for a in relevant for p in a.get("purposes", [])),
            "recipients": _unique(r for a in relevant for r in a.get("recipients", [])),
            "missing": dict(missing)},
        "files": [JSON_NAME, *files],
    }
    stamp = generated_at.astimezone(PARIS).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in [(JSON_NAME, json.dumps(document, ensure_ascii=False, indent=2,
                                                     default=str).encode()), *files.items()]:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return Archive(f"export-{request.kind}-{request.id}.zip", out.getvalue(), document)
