"""Schemas of the work documents (terms art. 3.A). The upload is a multipart form read by
the route itself (``gateway.routes.documents``); ``UPLOAD_BODY`` documents it."""
from marshmallow import Schema, fields

from gateway.schemas.common import DeletedOut, Text, page_of

#: the largest document (10 MiB), as leads' rule (``leads.domain.documents``)
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024

UPLOAD_BODY = {
    "required": True,
    "content": {"multipart/form-data": {
        "schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": "The document, at most 10 MiB: PDF, PNG/JPEG/GIF/WebP, "
                                    "an office document (OOXML, OpenDocument, legacy Office) "
                                    "or UTF-8 text, judged from its bytes"},
            "shared_with_network": {"type": "string", "enum": ["true", "false"],
                                    "description": "Let the network's admin see it (while "
                                                   "admin access is on); default false"}}},
        "encoding": {"file": {"contentType": "application/octet-stream"}}}},
}


class DocumentOut(Schema):
    id = Text()
    name = Text()
    family = Text()  # pdf | image | office | text
    content_type = Text()
    size_bytes = fields.Int()
    shared_with_network = fields.Bool()
    created_at = Text()
    updated_at = Text()


# used_bytes: the office's documents together
DocumentPageOut = page_of(DocumentOut, "DocumentPageOut", used_bytes=fields.Int(),
                          quota_bytes=fields.Int())
SharedDocumentPageOut = page_of(DocumentOut, "SharedDocumentPageOut")


class DocumentShareIn(Schema):
    shared_with_network = fields.Bool(required=True)


class DocumentDeletedOut(DeletedOut):
    """A document's deletion (its content destroyed)."""
