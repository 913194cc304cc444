"""Work documents of an office (terms art. 3.A: the office hosts and backs up "documents de
travail"): which files are accepted, what they are called, and the office's quota.

A file's type is what its bytes say (magic numbers and, for zip and OLE containers, their
structure), never the client's ``Content-Type`` or the file name's extension. The accepted
families are few and explicit, a small table rather than a general-purpose sniffer: a
library that recognises two hundred formats would accept what this table refuses (an
arbitrary zip, an executable), and OOXML is told from a plain zip only by its parts.

* ``pdf``: ``%PDF-``;
* ``image``: PNG, JPEG, GIF (87a/89a), WebP (RIFF....WEBP);
* ``office``: OOXML (a zip holding ``[Content_Types].xml`` and the main part of a Word,
  Excel or PowerPoint document), ODF (a zip whose first entry is ``mimetype``, stored,
  naming an OpenDocument text, spreadsheet, presentation or drawing), legacy OLE compound
  files (``.doc``, ``.xls``, ``.ppt``: the extension only names which, once the bytes said
  OLE);
* ``text``: UTF-8 without NUL (a BOM is allowed), served as ``text/plain`` whatever it
  holds (HTML, SVG or a script are text here, never rendered).

Only the zip's central directory and the ``mimetype`` entry are read: nothing is inflated,
so a zip bomb costs nothing.
"""
from __future__ import annotations

import io
import posixpath
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from enum import StrEnum

#: the largest document accepted (10 MiB)
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
#: an office's documents together, by default (the setting ``DOCUMENT_QUOTA_BYTES``)
DEFAULT_QUOTA_BYTES = 200 * 1024 * 1024
MAX_NAME_CHARS = 255


class Family(StrEnum):
    PDF = "pdf"
    IMAGE = "image"
    OFFICE = "office"
    TEXT = "text"


@dataclass(frozen=True)
class DocumentType:
    family: Family
    content_type: str
    extension: str  # the usual one, without the dot


PDF = DocumentType(Family.PDF, "application/pdf", "pdf")
PNG = DocumentType(Family.IMAGE, "image/png", "png")
JPEG = DocumentType(Family.IMAGE, "image/jpeg", "jpg")
GIF = DocumentType(Family.IMAGE, "image/gif", "gif")
WEBP = DocumentType(Family.IMAGE, "image/webp", "webp")
TEXT = DocumentType(Family.TEXT, "text/plain; charset=utf-8", "txt")
DOCX = DocumentType(Family.OFFICE, "application/vnd.openxmlformats-officedocument."
                    "wordprocessingml.document", "docx")
XLSX = DocumentType(Family.OFFICE, "application/vnd.openxmlformats-officedocument."
                    "spreadsheetml.sheet", "xlsx")
PPTX = DocumentType(Family.OFFICE, "application/vnd.openxmlformats-officedocument."
                    "presentationml.presentation", "pptx")
OLE = DocumentType(Family.OFFICE, "application/vnd.ms-office", "ole")
OLE_BY_EXTENSION = {
    "doc": DocumentType(Family.OFFICE, "application/msword", "doc"),
    "dot": DocumentType(Family.OFFICE, "application/msword", "dot"),
    "xls": DocumentType(Family.OFFICE, "application/vnd.ms-excel", "xls"),
    "xlt": DocumentType(Family.OFFICE, "application/vnd.ms-excel", "xlt"),
    "ppt": DocumentType(Family.OFFICE, "application/vnd.ms-powerpoint", "ppt"),
    "pps": DocumentType(Family.OFFICE, "application/vnd.ms-powerpoint", "pps"),
}
ODF_PREFIX = "application/vnd.oasis.opendocument."
#: OpenDocument kinds accepted (and their templates), with their extension
ODF_KINDS = {"text": "odt", "spreadsheet": "ods", "presentation": "odp", "graphics": "odg",
             "text-template": "ott", "spreadsheet-template": "ots",
             "presentation-template": "otp", "graphics-template": "otg"}
#: an OOXML package's main part: the folder tells which application wrote it
OOXML_PARTS = (("word/document.xml", DOCX), ("xl/workbook.xml", XLSX),
               ("ppt/presentation.xml", PPTX))

_SIGNATURES: tuple[tuple[bytes, DocumentType], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
)
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _extension(name: str) -> str:
    return name.rpartition(".")[2].lower() if "." in name else ""


def _zip_type(content: bytes) -> DocumentType | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            infos = archive.infolist()
            names = {i.filename for i in infos}
            if "[Content_Types].xml" in names:
                for part, kind in OOXML_PARTS:
                    if part in names:
                        return kind
                return None  # another OPC package (NuGet, XPS...): not an office document
            first = infos[0] if infos else None
            if (first is None or first.filename != "mimetype"
                    or first.compress_type != zipfile.ZIP_STORED or first.file_size > 100):
                return None
            declared = archive.read(first).decode("ascii", "replace").strip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError,
            EOFError, ValueError, KeyError):  # corrupt, encrypted, truncated
        return None
    odf = declared.removeprefix(ODF_PREFIX) if declared.startswith(ODF_PREFIX) else None
    if odf is None or odf not in ODF_KINDS:
        return None
    return DocumentType(Family.OFFICE, declared, ODF_KINDS[odf])


def _is_text(content: bytes) -> bool:
    if b"\x00" in content:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect(content: bytes, name: str = "") -> DocumentType | None:
    """The accepted type ``content`` is, or None (refused). ``name`` only tells a legacy
    OLE file's application once the bytes said OLE."""
    for magic, kind in _SIGNATURES:
        if content.startswith(magic):
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return WEBP
    if content.startswith(ZIP_MAGIC):
        return _zip_type(content)
    if content.startswith(OLE_MAGIC):
        return OLE_BY_EXTENSION.get(_extension(name), OLE)
    if content and _is_text(content):
        return TEXT
    return None


# --- names ----------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_name(raw: str | None, kind: DocumentType) -> str:
    """The name a document is kept under: the last path component (browsers may send a
    full path), control characters dropped, at most ``MAX_NAME_CHARS``; none left: a
    neutral name with the type's extension."""
    name = _CONTROL.sub("", unicodedata.normalize("NFC", raw or ""))
    name = posixpath.basename(name.replace("\\", "/")).strip().strip(".")
    if not name:
        return f"document.{kind.extension}"
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:16] if dot else ""
        name = (stem if dot else name)[:MAX_NAME_CHARS - len(ext) - 1].rstrip() + (
            f".{ext}" if ext else "")
    return name


# --- the quota ------------------------------------------------------------------------------

def fits(used_bytes: int, size_bytes: int, quota_bytes: int) -> bool:
    """Whether a document of ``size_bytes`` fits an office already holding ``used_bytes``:
    the quota may be reached, never passed."""
    return size_bytes >= 0 and used_bytes + size_bytes <= quota_bytes
