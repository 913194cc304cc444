"""The work documents' upload form, without a server (``gateway.routes.documents``): a
missing file, another content type, a broken multipart body or a bad flag is a 400 naming
the field; a file over 10 MiB is a 413 ``document_too_large``, read no further than the
bound; the download's ``Content-Disposition`` is safe whatever the name."""
from __future__ import annotations

import io
from typing import Any

import eventlet
import pytest
from eventlet.event import Event
from nameko import config
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.http import Req
from gateway.routes import documents
from gateway.routes.documents import (
    MAX_UPLOAD_BODY,
    content_disposition,
    file_response,
    read_upload,
)
from gateway.schemas.documents import MAX_DOCUMENT_BYTES
from suivi_common.errors import Invalid, ServiceUnavailable, TooLarge

PDF = b"%PDF-1.4\n%%EOF\n"


def req(**builder: Any) -> Req:
    request = Request(EnvironBuilder(method="POST", path="/api/documents", **builder).get_environ())
    request.max_content_length = MAX_UPLOAD_BODY  # as ApiEndpoint sets it
    return Req(request, None, {}, None, None)


def form(name: str = "devis.pdf", content: bytes = PDF, **fields: str) -> Req:
    return req(data={"file": (io.BytesIO(content), name), **fields})


def test_a_document_and_its_flag_are_read() -> None:
    assert read_upload(form(shared_with_network="true")) == ("devis.pdf", PDF, True)
    assert read_upload(form()) == ("devis.pdf", PDF, False)
    assert read_upload(form(shared_with_network="0"))[2] is False


@pytest.mark.parametrize(("build", "field", "code"), [
    (lambda: req(data={"shared_with_network": "true",
                       "attachment": (io.BytesIO(PDF), "devis.pdf")}), "file", "invalid"),
    (lambda: req(data={"shared_with_network": "true"}), "file", "multipart_required"),
    (lambda: req(data=b'{"file": "x"}', content_type="application/json"), "file",
     "multipart_required"),
    (lambda: req(), "file", "multipart_required"),
    (lambda: req(data=b"--nope\r\nnot a part", content_type="multipart/form-data; boundary=nope"),
     "file", None),
    (lambda: req(data=b"x", content_type="multipart/form-data"), "file", None),
    (lambda: form(shared_with_network="perhaps"), "shared_with_network", "invalid"),
    (lambda: form(content=b""), "file", "document_empty"),
    (lambda: form(name="rapport\x1b.pdf"), "file", "invalid"),
])
def test_a_bad_form_is_a_400_naming_the_field(build: Any, field: str, code: str | None) -> None:
    with pytest.raises(Invalid) as bad:
        read_upload(build())
    assert field in (bad.value.fields or {})
    if code is not None:
        assert bad.value.code == code


def test_a_file_over_the_limit_is_a_413() -> None:
    with pytest.raises(TooLarge) as big:
        read_upload(form(content=b"a" * (MAX_DOCUMENT_BYTES + 1)))
    assert big.value.code == "document_too_large"
    assert read_upload(form(content=b"a" * MAX_DOCUMENT_BYTES))[1] == b"a" * MAX_DOCUMENT_BYTES


def test_a_body_past_the_bound_stops_at_it() -> None:
    """A body with no Content-Length that the server terminates (chunked) is cut at the
    bound by Werkzeug's limited stream: a 413, never a read to its end."""
    built = EnvironBuilder(method="POST", path="/api/documents",
                           data={"file": (io.BytesIO(b"a" * (MAX_UPLOAD_BODY + 10)), "x.txt")})
    environ = built.get_environ()
    environ.pop("CONTENT_LENGTH")
    environ["wsgi.input_terminated"] = True
    request = Request(environ)
    request.max_content_length = MAX_UPLOAD_BODY
    with pytest.raises(TooLarge) as big:
        read_upload(Req(request, None, {}, None, None))
    assert big.value.code == "document_too_large"


@pytest.mark.parametrize(("name", "ascii_part"), [
    ("Devis été.pdf", 'filename="Devis ete.pdf"'),
    ('a"b\\c;d.pdf', 'filename="a_b_c_d.pdf"'),
    ("日本語.txt", 'filename="txt"'),
    ("...", 'filename="document"'),
])
def test_the_attachment_name_is_safe(name: str, ascii_part: str) -> None:
    header = content_disposition(name)
    assert header.startswith(f"attachment; {ascii_part}; filename*=UTF-8''")
    assert '"' not in header.split("filename*=")[1] and "\r" not in header and "\n" not in header


def test_a_download_carries_the_detected_type_and_forbids_rendering() -> None:
    response = file_response({"name": "x.pdf", "content_type": "application/pdf",
                              "data": "JVBERi0="})
    assert response.get_data() == b"%PDF-"
    assert response.headers["Content-Type"] == "application/pdf"
    assert "sandbox" in response.headers["Content-Security-Policy"]



def test_documents_move_a_few_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every slot taken, the next transfer waits for one, then gets a 503 to retry; a
    slot given back serves the next one."""
    monkeypatch.setattr(documents, "TRANSFER_WAIT_SECONDS", 0.01)
    monkeypatch.setitem(documents._slots, "size", None)  # rebuilt at the configured size
    with config.patch({"DOCUMENT_TRANSFERS": 1}):
        taken, release = Event(), Event()

        def hold() -> None:
            with documents.transfer_slot():
                taken.send()
                release.wait()

        holder = eventlet.spawn(hold)
        taken.wait()
        with pytest.raises(ServiceUnavailable) as busy, documents.transfer_slot():
            pass
        assert busy.value.code == "documents_busy"
        release.send()
        holder.wait()
        with documents.transfer_slot():
            pass
