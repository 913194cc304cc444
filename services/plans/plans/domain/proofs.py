"""Proof files attached to force-majeure claims ("un justificatif pourra être demandé").

The type is read from the content's magic bytes, never from the file name or
the client's Content-Type, which the uploader controls.
"""

from __future__ import annotations

from plans.domain.rules import DEFAULT_RULES
from suivi_common.errors import Invalid

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)

ALLOWED_PROOF_TYPES = tuple(mime for _, mime in _SIGNATURES)


def check_proof(data: bytes, max_bytes: int = DEFAULT_RULES.proof_max_bytes) -> str:
    """Return the MIME type of an acceptable proof (PDF, JPEG, PNG), else raise Invalid."""
    if not data:
        raise Invalid("The proof file is empty", fields={"proof": "is empty"}, code="proof_empty")
    if len(data) > max_bytes:
        raise Invalid(
            f"The proof file exceeds {max_bytes} bytes",
            fields={"proof": f"must be at most {max_bytes} bytes"},
            code="proof_too_large",
        )
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    raise Invalid(
        "The proof must be a PDF, JPEG or PNG file",
        fields={"proof": "must be a PDF, JPEG or PNG file"},
        code="proof_type_not_allowed",
    )
