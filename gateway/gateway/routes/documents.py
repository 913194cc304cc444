"""Work documents (terms art. 3.A): the office keeps and backs up the member's files.

Upload: a ``multipart/form-data`` form (``file``, optional ``shared_with_network``). The
body is bounded before it is read (``max_body``: a ``Content-Length`` beyond it is a 413
``document_too_large`` without a byte read; a chunked body is cut at the same bound by
Werkzeug's limited stream), and Werkzeug's form parser spools a file part over 500 KiB to
a temporary file, so memory holds at most the one bounded document when it is sent on to
leads (base64, in one RPC). What the file is, the quota, the sealing and who may see it
are leads' (``leads.usecases.documents``): its 415, 409 and 404 come back unchanged.

A form that is not one (no ``file``, another content type, a broken multipart body, a
flag that is not a boolean) is a 400 naming the field, never a 500.

Download: the content type leads detected at upload, ``Content-Disposition: attachment``
with a plain-ASCII ``filename`` and the exact name in ``filename*`` (RFC 6266/5987), and
a CSP that forbids everything should a browser render it anyway.

Memory: an upload or a download holds a few copies of its document (bytes, base64, the RPC
message) while its RPC runs; at most ``DOCUMENT_TRANSFERS`` (8) run at once per gateway,
the next ones wait up to 30 s for a slot (then ``503 documents_busy``), so 64 workers
cannot hold 64 documents.
"""
from __future__ import annotations

import base64
import contextlib
import re
import threading
import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from eventlet.semaphore import Semaphore
from nameko import config
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response

from gateway.http import Req, api
from gateway.schemas.common import PageQuery, has_control_characters, page_args
from gateway.schemas.documents import (
    MAX_DOCUMENT_BYTES,
    UPLOAD_BODY,
    DocumentDeletedOut,
    DocumentOut,
    DocumentPageOut,
    DocumentShareIn,
    SharedDocumentPageOut,
)
from suivi_common.errors import Invalid, ServiceUnavailable, TooLarge

MEMBER = ("user", "admin")
#: the document plus the form's own bytes (boundaries, part headers, the flag)
FORM_OVERHEAD = 64 * 1024
MAX_UPLOAD_BODY = MAX_DOCUMENT_BYTES + FORM_OVERHEAD
TRUE, FALSE = {"true", "1", "on", "yes"}, {"false", "0", "off", "no", ""}
UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._ ()-]+")
#: documents moving through this gateway at once (``DOCUMENT_TRANSFERS``): each holds a few
#: copies of up to 10 MiB (bytes, base64, the RPC message) for the time of its RPC
DEFAULT_TRANSFERS = 8
TRANSFER_WAIT_SECONDS = 30.0
_slots: dict[str, Any] = {}
_slots_lock = threading.Lock()


@contextlib.contextmanager
def transfer_slot() -> Iterator[None]:
    """One of the gateway's ``DOCUMENT_TRANSFERS`` slots, waited for at most 30 s (then a
    503 to retry): the memory documents take is bounded, whatever the number of workers."""
    with _slots_lock:
        size = max(1, int(config.get("DOCUMENT_TRANSFERS", DEFAULT_TRANSFERS)))
        if _slots.get("size") != size:
            _slots.update(size=size, semaphore=Semaphore(size))
        semaphore = _slots["semaphore"]
    if not semaphore.acquire(timeout=TRANSFER_WAIT_SECONDS):
        raise ServiceUnavailable("Too many documents are moving right now; retry shortly",
                                 code="documents_busy")
    try:
        yield
    finally:
        semaphore.release()


def too_large() -> TooLarge:
    return TooLarge(f"A document is at most {MAX_DOCUMENT_BYTES} bytes",
                    code="document_too_large", fields={"max_bytes": MAX_DOCUMENT_BYTES})


def _flag(raw: str | None) -> bool:
    value = (raw or "").strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise Invalid("Invalid form", fields={"shared_with_network": ["true or false"]})


def read_upload(req: Req) -> tuple[str, bytes, bool]:
    """(file name, bytes, shared flag) of the upload form, or a 400/413."""
    request = req.http
    if request.mimetype != "multipart/form-data":
        raise Invalid("Send the document as multipart/form-data",
                      fields={"file": ["a multipart/form-data part named file is required"]},
                      code="multipart_required")
    try:
        files, form = request.files, request.form
    except RequestEntityTooLarge:
        raise too_large() from None
    except (HTTPException, ValueError) as exc:  # a broken multipart body
        raise Invalid("The form could not be read", fields={"file": [str(exc)[:200] or
                                                                     "malformed form"]},
                      code="malformed_form") from None
    upload = files.get("file")
    if upload is None:
        raise Invalid("Invalid form", fields={"file": ["Missing file."]})
    shared = _flag(form.get("shared_with_network"))
    name = upload.filename or ""
    if has_control_characters(name):
        raise Invalid("Invalid form", fields={"file": ["Control characters are not allowed "
                                                       "in the file name."]})
    if len(name) > 1024:
        raise Invalid("Invalid form", fields={"file": ["The file name is too long."]})
    content = upload.stream.read(MAX_DOCUMENT_BYTES + 1)  # never more than the bound
    if len(content) > MAX_DOCUMENT_BYTES:
        raise too_large()
    if not content:
        raise Invalid("The document is empty", fields={"file": ["The file is empty."]},
                      code="document_empty")
    return name, content, shared


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII ``filename`` and the UTF-8 name in ``filename*``."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = UNSAFE_ASCII.sub("_", folded).strip(" ._")[:200] or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def file_response(document: dict[str, Any]) -> Response:
    content = base64.b64decode(document["data"])
    return Response(content, status=200, content_type=document["content_type"], headers={
        "Content-Disposition": content_disposition(document["name"]),
        "Content-Length": str(len(content)),
        "Content-Security-Policy": "default-src 'none'; sandbox"})


class DocumentRoutes:
    leads: Any
    require_admin_view: Any  # from MemberOfficeRoutes (GatewayService has both)

    @api("POST", "/api/documents", roles=MEMBER, response=DocumentOut, status=201,
         tags=("documents",), max_body=MAX_UPLOAD_BODY, request_body=UPLOAD_BODY,
         too_large_code="document_too_large", errors=(413, 415),
         summary="Keep a work document in my office (multipart: file, shared_with_network)")
    def upload_document(self, req: Req) -> Any:
        with transfer_slot():
            name, content, shared = read_upload(req)
            return self.leads.document_upload(name, base64.b64encode(content).decode(), shared)

    @api("GET", "/api/documents", roles=MEMBER, query=PageQuery, response=DocumentPageOut,
         tags=("documents",), summary="My work documents, newest first, and my quota")
    def list_documents(self, req: Req) -> Any:
        return self.leads.document_list(*page_args(req.query))

    @api("GET", "/api/documents/<document_id>", roles=MEMBER, tags=("documents",),
         content_type="application/octet-stream", summary="Download one of my documents")
    def download_document(self, req: Req, document_id: str) -> Any:
        with transfer_slot():
            return file_response(self.leads.document_download(document_id))

    @api("PATCH", "/api/documents/<document_id>", roles=MEMBER, body=DocumentShareIn,
         response=DocumentOut, tags=("documents",),
         summary="Share a document with my network's admin, or stop sharing it")
    def share_document(self, req: Req, document_id: str) -> Any:
        return self.leads.document_set_shared(document_id, req.body["shared_with_network"])

    @api("DELETE", "/api/documents/<document_id>", roles=MEMBER, response=DocumentDeletedOut,
         tags=("documents",), summary="Delete a document (its content is destroyed)")
    def delete_document(self, req: Req, document_id: str) -> Any:
        return self.leads.document_delete(document_id)

    # --- what a member shares, seen by the admin (terms art. 5) ---------------------------

    @api("GET", "/api/network/members/<member_id>/documents", roles=("admin",),
         query=PageQuery, response=SharedDocumentPageOut, tags=("network",),
         summary="The documents a member shares, unless they turned admin access off")
    def member_documents(self, req: Req, member_id: str) -> Any:
        self.require_admin_view(req, member_id)
        return self.leads.member_documents(member_id, *page_args(req.query))

    @api("GET", "/api/network/members/<member_id>/documents/<document_id>", roles=("admin",),
         tags=("network",), content_type="application/octet-stream",
         summary="Download a document a member shares")
    def member_document(self, req: Req, member_id: str, document_id: str) -> Any:
        self.require_admin_view(req, member_id)
        with transfer_slot():
            return file_response(self.leads.member_document_download(member_id, document_id))
