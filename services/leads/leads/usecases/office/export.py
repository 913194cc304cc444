"""Export of an office (terms 3.B.iv and 8.A.5): XLSX or CSV of the leads' initial data.

How the file reaches the user with bounded memory on both sides (an RPC reply cannot
stream):

1. ``start`` (one RPC) streams the matching rows out of the database in keyset batches,
   decrypting one batch at a time, into openpyxl's write-only workbook (rows go to a temp
   file as they are appended) or a CSV writer, then saves the file to a temp file. It then
   copies the file into ``office_export_chunks`` piece by piece (512 KiB, encrypted under
   the network scope: the file is personal data at rest) and logs the export in
   ``office_exports`` (who, when, how many rows, which filters with search values
   redacted). Any instance can then serve the chunks.
2. ``chunk`` (one RPC per piece) returns one piece, base64; the gateway streams them to
   the client with a generator, one piece in memory at a time. Serving the last piece
   deletes the stored file; files never fully downloaded are purged after
   ``OFFICE_EXPORT_TTL_MINUTES`` (at the next export start).

One export in flight per user (issue 14 §3): ``start`` first takes a transaction-level
advisory lock on the user (``pg_try_advisory_xact_lock``, in the shared leads database, so
it holds across instances) and refuses a second build with 429 ``export_in_progress``
while the first is being built. The lock ends with the build's transaction: a crashed
instance's connection closes and frees it, so nothing blocks forever.

Cells: creation date (Paris time), last name, first name, e-mail, mobile, landline, postal
code, city, current status, e-mails sent to the lead and the last one's date (Paris time;
``lead_email_sent``); one header row, French by default, English with ``lang=en``.
Text that a spreadsheet would run as a formula is neutralised (lead data comes from
public web forms): a string cell in XLSX, a leading apostrophe in CSV.
"""
from __future__ import annotations

import base64
import csv
import io
import logging
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import IO, Any

import eventlet
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from leads.domain import office_records as records
from leads.models import office_export_chunks, office_exports
from leads.settings import TUNABLES
from leads.usecases.office import queries
from leads.usecases.office.context import OfficeCtx, office_scope, scope_of
from suivi_common.clock import PARIS
from suivi_common.database import one_row
from suivi_common.errors import Invalid, NotFound, RateLimited
from suivi_common.ids import parse_uuid
from suivi_common.kinds import DEFAULT_KIND

FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "csv": "text/csv; charset=utf-8"}
HEADERS = {
    "fr": ("Date de création", "Nom", "Prénom", "Email", "Téléphone mobile", "Téléphone fixe",
           "Code postal", "Ville", "Statut", "E-mails envoyés", "Dernier e-mail",
           "Type de bureau"),
    "en": ("Creation date", "Last name", "First name", "Email", "Mobile phone", "Landline",
           "Postal code", "City", "Status", "Emails sent", "Last emailed", "Office kind"),
}
SHEET_TITLE = {"fr": "Prospects", "en": "Leads"}
FIELDS = ("last_name", "first_name", "email", "mobile", "landline", "postal_code", "city")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
log = logging.getLogger(__name__)


def _local(instant: datetime | None) -> datetime | None:
    """Paris wall-clock time (spreadsheets have no time zones)."""
    return None if instant is None else instant.astimezone(PARIS).replace(tzinfo=None,
                                                                          microsecond=0)


def row_values(created_at: datetime, status: str, data: Mapping[str, Any], emails_sent: int = 0,
               last_emailed_at: datetime | None = None, kind: str = DEFAULT_KIND) -> list[Any]:
    """One export row; the office kind last (issue 13 §1)."""
    flat = records.flat(data, FIELDS)
    return [_local(created_at), *(flat[f] for f in FIELDS), status, emails_sent,
            _local(last_emailed_at), kind]


class XlsxWriter:
    def __init__(self, lang: str) -> None:
        self.wb = Workbook(write_only=True)
        self.ws = self.wb.create_sheet(SHEET_TITLE[lang])
        self.ws.append(list(HEADERS[lang]))

    def _cell(self, value: Any) -> Any:
        if isinstance(value, str) and (value.startswith("=") or value in ERROR_CODES):
            cell = WriteOnlyCell(self.ws, value)
            cell.data_type = "s"  # text, never a formula or an error value
            return cell
        return value

    def append(self, values: list[Any]) -> None:
        self.ws.append([self._cell(v) for v in values])

    def save(self, out: IO[bytes]) -> None:
        self.wb.save(out)


class CsvWriter:
    """UTF-8 with a BOM (spreadsheets then read accents right); ';' in French (the list
    separator of French spreadsheets), ',' in English."""

    def __init__(self, lang: str, out: IO[bytes]) -> None:
        self.text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
        self.writer = csv.writer(self.text, delimiter=";" if lang == "fr" else ",")
        self.writer.writerow(HEADERS[lang])

    @staticmethod
    def _text(value: Any, phone: bool) -> Any:
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, str) and not phone and value.startswith(_FORMULA_START):
            return "'" + value
        return value

    def append(self, values: list[Any]) -> None:
        # mobile and landline are E.164 (digits after '+'), safe to keep as they are
        self.writer.writerow([self._text(v, i in (4, 5)) for i, v in enumerate(values)])

    def save(self, out: IO[bytes]) -> None:
        self.text.flush()
        self.text.detach()


def write_file(fmt: str, lang: str, rows: Iterable[list[Any]], out: IO[bytes],
               yield_every: int = 2000) -> int:
    """Write the header and ``rows`` to ``out``; returns the number of data rows."""
    writer: XlsxWriter | CsvWriter = XlsxWriter(lang) if fmt == "xlsx" else CsvWriter(lang, out)
    count = 0
    for values in rows:
        writer.append(values)
        count += 1
        if count % yield_every == 0:
            eventlet.sleep(0)  # a long export must not starve the instance's other workers
    writer.save(out)
    return count


def parse_options(fmt: Any, lang: Any) -> tuple[str, str]:
    errors = {}
    if fmt not in FORMATS:
        errors["format"] = "xlsx or csv"
    lang = lang or "fr"
    if lang not in HEADERS:
        errors["lang"] = "fr or en"
    if errors:
        raise Invalid("invalid export options", fields=errors)
    return str(fmt), str(lang)


def lock_key(owner_id: str) -> str:
    """The advisory-lock key of ``owner_id``'s export in flight (tests hold it too)."""
    return f"leads.office_export:{owner_id}"


def claim_slot(session: Session, owner_id: str) -> None:
    """Take the owner's export slot until ``session``'s transaction ends, or refuse (429):
    a build reads and encrypts every lead, so one at a time per user."""
    key = func.hashtextextended(lock_key(owner_id), 0)
    if not session.execute(select(func.pg_try_advisory_xact_lock(key))).scalar():
        raise RateLimited("An export of yours is already being built; retry when it is done",
                          TUNABLES.get_int("OFFICE_EXPORT_RETRY_AFTER_SECONDS"),
                          code="export_in_progress")


def _purge_expired(ctx: OfficeCtx) -> None:
    cutoff = ctx.now - timedelta(minutes=TUNABLES.get_int("OFFICE_EXPORT_TTL_MINUTES"))
    stale = select(office_exports.c.id).where(office_exports.c.created_at < cutoff,
                                              office_exports.c.downloaded_at.is_(None))
    ctx.session.execute(delete(office_export_chunks)
                        .where(office_export_chunks.c.export_id.in_(stale)))


def start(ctx: OfficeCtx, owner_id: str, scope: str, raw_filters: Mapping[str, Any] | None,
          fmt: Any, lang: Any) -> dict[str, Any]:
    """Build the export file of the owner's matching leads and store it for download."""
    fmt, lang = parse_options(fmt, lang)
    f = queries.parse_filters(raw_filters)
    claim_slot(ctx.session, owner_id)
    where = queries.conditions(ctx.vault, scope, owner_id, f)
    _purge_expired(ctx)
    export_id = uuid.uuid4()
    key_scope = office_scope(scope, owner_id)
    ctx.session.execute(office_exports.insert().values(
        id=export_id, user_id=owner_id, network_id=scope, key_scope=key_scope,
        format=fmt, lang=lang,
        filters=f.redacted(), rows=0, bytes=0, chunks=0, created_at=ctx.now))
    rows = (row_values(*r) for r in queries.export_rows(
        ctx.session, ctx.vault, where, TUNABLES.get_int("OFFICE_EXPORT_BATCH")))
    with tempfile.TemporaryFile() as out:
        count = write_file(fmt, lang, rows, out)
        size = out.tell()
        out.seek(0)
        chunks = _store(ctx, key_scope, export_id, out)
    ctx.session.execute(update(office_exports).where(office_exports.c.id == export_id)
                        .values(rows=count, bytes=size, chunks=chunks))
    log.info("office export %s by %s: %d rows, %d bytes", export_id, owner_id, count, size)
    stamp = ctx.now.astimezone(PARIS).strftime("%Y%m%d-%H%M")
    return {"export_id": str(export_id), "format": fmt, "lang": lang, "rows": count,
            "bytes": size, "chunks": chunks, "content_type": FORMATS[fmt],
            "filename": f"{'prospects' if lang == 'fr' else 'leads'}-{stamp}.{fmt}"}


def _store(ctx: OfficeCtx, scope: str, export_id: uuid.UUID, source: IO[bytes]) -> int:
    size = TUNABLES.get_int("OFFICE_EXPORT_CHUNK_BYTES")
    n = 0
    while True:
        piece = source.read(size)
        if not piece and n > 0:
            return n
        text = base64.b64encode(piece).decode()
        ctx.session.execute(office_export_chunks.insert().values(
            export_id=export_id, n=n,
            data=ctx.vault.encrypt(scope, "office_export_chunks", "data", f"{export_id}:{n}", text)))
        n += 1
        if len(piece) < size:
            return n


def chunk(ctx: OfficeCtx, owner_id: str, export_id: Any, n: Any) -> dict[str, Any]:
    """Piece ``n`` of the owner's export, base64; the last one also deletes the file."""
    eid = parse_uuid(export_id)
    if eid is None:
        raise NotFound("No such export")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise Invalid("invalid chunk number", fields={"n": "a non-negative integer"})
    job = one_row(ctx.session, select(office_exports).where(
        office_exports.c.id == eid, office_exports.c.user_id == owner_id), "export")
    if n >= job.chunks:
        raise NotFound("No such export")
    c = office_export_chunks
    piece = ctx.session.execute(select(c.c.data).where(c.c.export_id == eid, c.c.n == n)).scalar()
    if piece is None:
        raise NotFound("This export is no longer available; export again")
    data = ctx.vault.decrypt(scope_of(job), "office_export_chunks", "data", f"{eid}:{n}", piece)
    last = n == job.chunks - 1
    if last:
        ctx.session.execute(delete(c).where(c.c.export_id == eid))
        ctx.session.execute(update(office_exports).where(office_exports.c.id == eid)
                            .values(downloaded_at=ctx.now))
    return {"data": data, "last": last}
