"""Small files of every family the work documents accept, and some they refuse, built in
memory for the tests (nothing here runs in production)."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00" \
      b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
TEXT = "Compte rendu de la réunion : 12 prospects rappelés.\n".encode()
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00"


def png() -> bytes:
    """A 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def _zip(entries: list[tuple[str, bytes]], stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for n, (name, data) in enumerate(entries):
            method = zipfile.ZIP_STORED if stored_first and n == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return buffer.getvalue()


CONTENT_TYPES = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/' \
                b'package/2006/content-types"/>'


def ooxml(main_part: str = "word/document.xml") -> bytes:
    """A Word (or, by its main part, Excel/PowerPoint) package."""
    return _zip([("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", b"<Relationships/>"),
                 (main_part, b"<document/>")])


def odf(kind: str = "text", stored: bool = True) -> bytes:
    """An OpenDocument file: ``mimetype`` first (stored, as the standard wants)."""
    return _zip([("mimetype", f"application/vnd.oasis.opendocument.{kind}".encode()),
                 ("content.xml", b"<office:document-content/>")], stored_first=stored)


def plain_zip() -> bytes:
    return _zip([("notes.txt", b"hello"), ("photo.bin", b"\x00\x01")])


def opc_without_office_part() -> bytes:
    """An OPC package that is no office document (a NuGet package has this shape)."""
    return _zip([("[Content_Types].xml", CONTENT_TYPES), ("lib/net8.0/x.dll", b"MZ\x00")])


def of_size(size: int) -> bytes:
    """UTF-8 text of exactly ``size`` bytes."""
    line = b"ligne de compte rendu\n"
    return (line * (size // len(line) + 1))[:size]
