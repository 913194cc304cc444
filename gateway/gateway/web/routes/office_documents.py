"""The distributor's work documents (terms art. 3.A): upload, list, download, share with
the network's admin, delete.

The JSON routes' own pieces (``gateway.routes.documents``): the upload form is read by
``read_upload`` (same bounds, same 400/413), the transfers take a ``transfer_slot``, the
download is ``file_response`` (its sandbox CSP kept), and what a file may be, the quota
and who may see it stay leads' (its 415, 409 and 404 shown as readable messages).
"""
from __future__ import annotations

import base64
from typing import Any

from werkzeug.wrappers import Response

from gateway.http import Req
from gateway.routes.documents import MAX_UPLOAD_BODY, file_response, read_upload, transfer_slot
from gateway.schemas.documents import MAX_DOCUMENT_BYTES, DocumentShareIn
from gateway.web.http import ERROR_MESSAGES, Page, form_errors, page, validated
from suivi_common.errors import Invalid, SuiviError

MEMBER = ("user", "admin")
DOCUMENTS_PAGE = 25


class WebDocumentRoutes:
    leads: Any

    @page("GET", "/web/office/documents", roles=MEMBER)
    def web_documents(self, p: Page) -> Response:
        return self._doc_page(p)

    def _doc_page(self, p: Page, status: int = 200,
                  errors: dict[str, str] | None = None) -> Response:
        cursor = (p.http.args.get("cursor") or None) if p.http.method == "GET" else None
        result = self.leads.document_list(cursor, DOCUMENTS_PAGE)
        next_url = None
        if result.get("next_cursor"):
            next_url = f"/web/office/documents?cursor={result['next_cursor']}"
        return p.render("documents.html", status=status, documents=result["items"],
                        used=result.get("used_bytes", 0), quota=result.get("quota_bytes", 0),
                        max_bytes=MAX_DOCUMENT_BYTES, next_url=next_url,
                        first_url="/web/office/documents" if cursor else None,
                        errors=errors or {})

    @page("POST", "/web/office/documents", roles=MEMBER, max_body=MAX_UPLOAD_BODY)
    def web_document_upload(self, p: Page) -> Response:
        try:
            with transfer_slot():
                name, content, shared = read_upload(Req(p.http, None, {}, p.principal, p.token))
                self.leads.document_upload(name, base64.b64encode(content).decode(), shared)
        except SuiviError as exc:
            if exc.status in (401, 404):
                raise
            fields = form_errors(exc) if isinstance(exc, Invalid) else {}
            message = (p.error_text(exc) if exc.code in ERROR_MESSAGES
                       else " ".join(fields.values()) or p.error_text(exc))
            return self._doc_page(p, exc.status, {"file": message})
        return p.redirect("/web/office/documents", flash="document_uploaded")

    @page("GET", "/web/office/documents/<document_id>", roles=MEMBER)
    def web_document_download(self, p: Page, document_id: str) -> Response:
        with transfer_slot():
            return file_response(self.leads.document_download(document_id))

    @page("POST", "/web/office/documents/<document_id>/share", roles=MEMBER)
    def web_document_share(self, p: Page, document_id: str) -> Response:
        body = validated(DocumentShareIn, {"shared_with_network":
                                           p.form.get("shared_with_network") == "true"})
        self.leads.document_set_shared(document_id, body["shared_with_network"])
        return p.redirect("/web/office/documents", flash="document_shared")

    @page("POST", "/web/office/documents/<document_id>/delete", roles=MEMBER)
    def web_document_delete(self, p: Page, document_id: str) -> Response:
        self.leads.document_delete(document_id)  # another user's: the 404 page
        return p.redirect("/web/office/documents", flash="document_deleted")
