from __future__ import annotations

import pytest

from plans.domain.proofs import ALLOWED_PROOF_TYPES, check_proof
from suivi_common.errors import Invalid

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.mark.parametrize(
    ("data", "mime"), [(PDF, "application/pdf"), (JPEG, "image/jpeg"), (PNG, "image/png")]
)
def test_accepted_types_are_recognised_by_content(data: bytes, mime: str) -> None:
    assert check_proof(data, max_bytes=1024) == mime
    assert mime in ALLOWED_PROOF_TYPES


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "proof_empty"),
        (b"GIF89a\x01\x00", "proof_type_not_allowed"),
        (b"MZ\x90\x00", "proof_type_not_allowed"),  # an executable renamed .pdf
        (b"<html>%PDF-", "proof_type_not_allowed"),  # signature not at the start
        (b"\x89PNG", "proof_type_not_allowed"),  # truncated signature
        (b"PK\x03\x04", "proof_type_not_allowed"),  # zip / docx
        (b"hello", "proof_type_not_allowed"),
    ],
)
def test_refused_content(data: bytes, code: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_proof(data, max_bytes=1024)
    assert caught.value.code == code
    assert set(caught.value.fields or {}) == {"proof"}


def test_size_limit_is_inclusive() -> None:
    at_limit = PDF + b"\x00" * (100 - len(PDF))
    assert check_proof(at_limit, max_bytes=100) == "application/pdf"
    with pytest.raises(Invalid) as caught:
        check_proof(at_limit + b"\x00", max_bytes=100)
    assert caught.value.code == "proof_too_large"


def test_default_limit_is_five_megabytes() -> None:
    five_mb = 5 * 1024 * 1024
    assert check_proof(PNG + b"\x00" * (five_mb - len(PNG))) == "image/png"
    with pytest.raises(Invalid):
        check_proof(PNG + b"\x00" * (five_mb - len(PNG) + 1))
