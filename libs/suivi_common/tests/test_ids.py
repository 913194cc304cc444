"""A malformed id names nothing: callers turn None into "not found", never a 500."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from suivi_common.ids import parse_uuid

ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


def test_a_uuid_or_its_text_is_the_id() -> None:
    assert parse_uuid(ID) == ID
    assert parse_uuid(str(ID)) == ID
    assert parse_uuid(str(ID).upper()) == ID


@pytest.mark.parametrize("value", [None, "", "42", "not-an-id", 42, ID.int, ["x"], {"id": str(ID)}])
def test_anything_else_is_none(value: Any) -> None:
    assert parse_uuid(value) is None
