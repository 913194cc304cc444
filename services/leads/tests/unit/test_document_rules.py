"""Work documents' rules (terms art. 3.A): a type is what the bytes say, only the accepted
families pass, names are made safe, and the quota is reached but never passed."""
from __future__ import annotations

import pytest

from leads import document_samples as s
from leads.domain import documents as d


@pytest.mark.parametrize(("content", "name", "expected"), [
    (s.PDF, "devis.pdf", d.PDF),
    (s.png(), "logo.png", d.PNG),
    (s.JPEG, "photo.jpeg", d.JPEG),
    (s.GIF, "anim.gif", d.GIF),
    (s.WEBP, "image.webp", d.WEBP),
    (s.ooxml("word/document.xml"), "lettre.docx", d.DOCX),
    (s.ooxml("xl/workbook.xml"), "budget.xlsx", d.XLSX),
    (s.ooxml("ppt/presentation.xml"), "slides.pptx", d.PPTX),
    (s.OLE_HEADER, "ancien.doc", d.OLE_BY_EXTENSION["doc"]),
    (s.OLE_HEADER, "ancien.xls", d.OLE_BY_EXTENSION["xls"]),
    (s.OLE_HEADER, "sans-extension", d.OLE),
    (s.TEXT, "notes.txt", d.TEXT),
    ("\ufeffavec BOM".encode(), "bom.txt", d.TEXT),
])
def test_each_accepted_family_is_recognised_by_its_bytes(content: bytes, name: str,
                                                        expected: d.DocumentType) -> None:
    assert d.detect(content, name) == expected


def test_an_opendocument_file_keeps_its_declared_type() -> None:
    kind = d.detect(s.odf("spreadsheet"), "tableau.ods")
    assert kind is not None and kind.family is d.Family.OFFICE
    assert (kind.content_type, kind.extension) == (
        "application/vnd.oasis.opendocument.spreadsheet", "ods")


@pytest.mark.parametrize(("content", "why"), [
    (s.ELF, "an executable"),
    (s.plain_zip(), "a zip that is no office document"),
    (s.opc_without_office_part(), "an OPC package without a Word/Excel/PowerPoint part"),
    (s.odf("text", stored=False), "an ODF whose mimetype entry is compressed"),
    (s.odf("database"), "an OpenDocument kind outside the list"),
    (b"PK\x03\x04 not really a zip", "a truncated zip"),
    ("caf\xe9".encode("latin-1"), "text that is not UTF-8"),
    (b"text with a \x00 NUL", "text holding NUL"),
    (b"", "nothing"),
])
def test_anything_else_is_refused(content: bytes, why: str) -> None:
    assert d.detect(content, "x.pdf") is None, why


def test_the_name_never_decides_the_type() -> None:
    assert d.detect(s.ELF, "rapport.pdf") is None
    assert d.detect(s.PDF, "programme.exe") == d.PDF
    assert d.detect(s.plain_zip(), "lettre.docx") is None


@pytest.mark.parametrize(("raw", "clean"), [
    ("C:\\Users\\bruno\\devis mars.pdf", "devis mars.pdf"),
    ("../../etc/passwd", "passwd"),
    ("rapport\x00\x1b.pdf", "rapport.pdf"),
    ("", "document.pdf"),
    (None, "document.pdf"),
    ("...", "document.pdf"),
    ("Réunion été.pdf", "Réunion été.pdf"),
])
def test_names_are_kept_safe(raw: str | None, clean: str) -> None:
    assert d.clean_name(raw, d.PDF) == clean


def test_a_long_name_keeps_its_extension() -> None:
    name = d.clean_name("a" * 400 + ".pdf", d.PDF)
    assert len(name) == d.MAX_NAME_CHARS and name.endswith(".pdf")


def test_the_quota_may_be_reached_never_passed() -> None:
    quota = 200
    assert d.fits(0, 200, quota)
    assert d.fits(150, 50, quota)
    assert not d.fits(150, 51, quota)
    assert not d.fits(200, 1, quota)
    assert d.fits(200, 0, quota)
    assert not d.fits(0, -1, quota)


def test_the_limits_are_the_terms_figures() -> None:
    assert d.MAX_DOCUMENT_BYTES == 10 * 1024 * 1024
    assert d.DEFAULT_QUOTA_BYTES == 200 * 1024 * 1024
