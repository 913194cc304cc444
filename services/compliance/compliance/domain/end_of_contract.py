"""The end of a controller's contract (annex IV.12): return the data, then destroy every
copy, and certify it.

States of one controller's end of contract (one per controller, ever):

* ``collecting``: the holding services were asked for the controller's data;
* ``ready``: the archive is built; the controller downloads it. The destruction starts
  when they confirm receipt, or ``shred_days`` calendar days (Paris) after the archive
  was ready, whichever comes first (the terms do not fix the delay: a setting);
* ``shredding``: the holding services were asked to destroy the data;
* ``destroyed``: every holder reported; the certificate of destruction is issued and
  compliance's own copy (the archive) is shredded with its key.

Asking again while one is under way is the same end of contract (idempotent); asking once
it is destroyed is refused (``controller_data_destroyed``): there is nothing left to give.

The archive is a ZIP: ``archive.json`` (every service's data exactly as reported), one CSV
per category (``csv/<service>/<category>.csv``, the access export's flattening and
spreadsheet-safe cells) and one workbook ``archive.xlsx`` with a sheet per category.
"""
from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from openpyxl import Workbook

from compliance.domain.export import Archive, Table, flatten
from compliance.domain.requests import RuleError
from suivi_common.clock import PARIS

FORMAT_VERSION = 1
#: the services holding a controller's data: leads (the office: leads, notes, history,
#: e-mails sent, claims), the mailer (its copies of those e-mails, sealed under the
#: controller's key too)
HOLDERS = ("leads", "mailer")
DEFAULT_SHRED_DAYS = 30
CONTENT_TYPE = "application/zip"
JSON_NAME = "archive.json"
XLSX_NAME = "archive.xlsx"
_SHEET_MAX = 31  # Excel's limit on a sheet name
_SHEET_BAD = str.maketrans({c: "_" for c in "[]:*?/\\"})


class Status(StrEnum):
    COLLECTING = "collecting"
    READY = "ready"
    SHREDDING = "shredding"
    DESTROYED = "destroyed"


def check_start(existing: str | None) -> bool:
    """True: a new end of contract starts; False: the one under way is answered again."""
    if existing is None:
        return True
    if existing == Status.DESTROYED:
        raise RuleError("This controller's data was already destroyed",
                        "controller_data_destroyed", conflict=True)
    return False


def check_downloadable(status: str) -> None:
    if status == Status.COLLECTING:
        raise RuleError("The archive is being prepared", "archive_not_ready", conflict=True)
    if status == Status.DESTROYED:
        raise RuleError("The archive was destroyed with the data", "archive_destroyed",
                        conflict=True)


def check_confirmable(status: str) -> None:
    """Only a ready archive's receipt can be confirmed (it starts the destruction)."""
    if status == Status.COLLECTING:
        raise RuleError("The archive is being prepared", "archive_not_ready", conflict=True)
    if status != Status.READY:
        raise RuleError("Receipt was already confirmed: the data is being destroyed",
                        "already_confirmed", conflict=True)


#: the refusals the gateway answers 410 Gone
GONE = frozenset({"archive_destroyed"})


def shred_after(ready_at: datetime, days: int) -> datetime:
    """``days`` calendar days after the archive was ready, same wall-clock time in Paris."""
    return ready_at.astimezone(PARIS) + timedelta(days=days)


def is_shred_due(status: str, confirmed_at: datetime | None, ready_at: datetime | None,
                 now: datetime, days: int) -> bool:
    if status != Status.READY or ready_at is None:
        return False
    return confirmed_at is not None or now >= shred_after(ready_at, days)


def all_reported(holders: Sequence[str], reported: Sequence[str]) -> bool:
    return set(holders) <= set(reported)


# --- the archive ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Part:
    """One holding service's report: its data (lists of records per category)."""

    service: str
    records: int
    data: Any


def _sheet_name(service: str, table: str, taken: set[str]) -> str:
    base = f"{service}.{table}".translate(_SHEET_BAD)[:_SHEET_MAX]
    name, n = base, 2
    while name.lower() in taken:
        suffix = f"~{n}"
        name, n = base[:_SHEET_MAX - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def xlsx(tables: Sequence[tuple[str, Table]], created: datetime | None = None) -> bytes:
    """One sheet per table (header row, then the rows, cells as in the CSV)."""
    book = Workbook(write_only=True)
    if created is not None:
        book.properties.created = created.astimezone(UTC).replace(tzinfo=None)
    taken: set[str] = set()
    for service, table in tables:
        sheet = book.create_sheet(_sheet_name(service, table.name, taken))
        sheet.append(table.columns)
        for row in table.rows:
            sheet.append([row.get(c, "") for c in table.columns])
    if not tables:
        book.create_sheet("empty").append(["no data"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def build_archive(contract_id: str, user_id: str, parts: Sequence[Part],
                  processor: Mapping[str, Any], generated_at: datetime) -> Archive:
    """The archive (pure: the same inputs give the same JSON and CSV; the workbook also
    carries the moment it was written, which openpyxl stamps on save)."""
    ordered = sorted(parts, key=lambda p: p.service)
    tables = [(p.service, t) for p in ordered for t in flatten(p.data)]
    files = {f"csv/{service}/{table.name}.csv": table.csv_bytes() for service, table in tables}
    document = {
        "format_version": FORMAT_VERSION,
        "kind": "end_of_contract",
        "generated_at": generated_at.isoformat(),
        "contract_id": contract_id,
        "controller": {"user_id": user_id},
        "processor": dict(processor),
        "services": {p.service: {"records": p.records, "data": p.data} for p in ordered},
        "files": [JSON_NAME, XLSX_NAME, *files],
    }
    stamp = generated_at.astimezone(PARIS).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        entries = [(JSON_NAME, json.dumps(document, ensure_ascii=False, indent=2,
                                          default=str).encode()),
                   (XLSX_NAME, xlsx(tables, generated_at)), *files.items()]
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return Archive(f"end-of-contract-{user_id}.zip", out.getvalue(), document)


# --- the certificate ------------------------------------------------------------------------

def certificate(*, contract_id: str, user_id: str, requested_at: datetime,
                ready_at: datetime | None, confirmed_at: datetime | None,
                shred_requested_at: datetime, reports: Mapping[str, Mapping[str, Any]],
                archive_key: Mapping[str, Any], processor: Mapping[str, Any],
                issued_at: datetime) -> dict[str, Any]:
    """The certificate of destruction: what was destroyed where (counts), the keys
    shredded (ids: fingerprints of the wrapped keys, never the keys) and when."""
    services: dict[str, dict[str, Any]] = {}
    keys: list[dict[str, Any]] = []
    totals: dict[str, int] = {}
    for s, r in sorted(reports.items()):
        counts = {str(k): v for k, v in dict(r.get("counts") or {}).items()}
        held = [{"service": s, **dict(k)} for k in r.get("keys") or []]
        services[s] = {"shredded_at": r.get("shredded_at"), "counts": counts, "keys": held}
        keys += held
        for name, n in counts.items():
            if isinstance(n, int) and not isinstance(n, bool):
                totals[name] = totals.get(name, 0) + n
    return {
        "format_version": FORMAT_VERSION,
        "kind": "certificate_of_destruction",
        "contract_id": contract_id,
        "controller": {"user_id": user_id},
        "processor": dict(processor),
        "basis": "GDPR art. 28(3)(g); processing annex IV.12",
        "method": ("crypto-shredding: the controller's AES-256 data keys were destroyed and "
                   "the live rows wiped; a copy sealed under those keys, in a backup too, can "
                   "no longer be read once no backup of the key table taken before "
                   "destroyed_at remains (rows counted under_network_key were sealed under "
                   "the network's key in backups taken before they were re-keyed)"),
        "timeline": {"requested_at": requested_at.isoformat(),
                     "archive_ready_at": ready_at.isoformat() if ready_at else None,
                     "receipt_confirmed_at": confirmed_at.isoformat() if confirmed_at else None,
                     "destruction_requested_at": shred_requested_at.isoformat(),
                     "destroyed_at": max([str(r["shredded_at"]) for r in services.values()
                                          if r["shredded_at"]] or [issued_at.isoformat()])},
        "services": services,
        "totals": totals,
        "archive": dict(archive_key),
        "keys": [*keys, dict(archive_key)],
        "issued_at": issued_at.isoformat(),
    }
