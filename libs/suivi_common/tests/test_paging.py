"""Cursors stay opaque and strict: what a listing wrote pages on, anything else is a 400."""
from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Column, DateTime, MetaData, Table, Uuid, select
from sqlalchemy.dialects import postgresql

from suivi_common.errors import Invalid
from suivi_common.paging import check_limit, decode_cursor, encode_cursor, keyset, page

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


def raw(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def test_a_cursor_decodes_to_what_was_encoded() -> None:
    assert decode_cursor(encode_cursor(AT, ID), datetime, uuid.UUID) == (AT, ID)
    assert decode_cursor(encode_cursor(7, "new", kind="history"), int, str, kind="history") == (7, "new")
    assert decode_cursor(None, datetime) is None and decode_cursor("", datetime) is None


def test_the_wire_format_of_creation_order_listings_is_kept() -> None:
    """Cursors handed out before (accounts and plans listings) still page on."""
    before = raw([AT.isoformat(), str(ID)])
    assert encode_cursor(AT, ID) == before
    assert decode_cursor(before + "=" * (-len(before) % 4), datetime, uuid.UUID) == (AT, ID)


@pytest.mark.parametrize("cursor", [
    "garbage!", "%%%", 42, ["x"], raw({"a": 1}), raw([AT.isoformat()]),
    raw([AT.isoformat(), 5]),                      # an id that is not text
    raw([AT.isoformat(), "not-a-uuid"]),
    raw(["2026-03-02T09:30:00", str(ID)]),         # a naive instant
    raw([True, str(ID)]), raw([AT.isoformat(), str(ID), "extra"]),
])
def test_anything_else_is_an_invalid_cursor(cursor: Any) -> None:
    with pytest.raises(Invalid) as caught:
        decode_cursor(cursor, datetime, uuid.UUID)
    assert caught.value.fields == {"cursor": "invalid"}


def test_a_cursor_of_another_listing_is_refused() -> None:
    notes = encode_cursor(AT, ID, kind="notes")
    assert decode_cursor(notes, datetime, uuid.UUID, kind="notes") == (AT, ID)
    for kind in ("claims", None):
        with pytest.raises(Invalid):
            decode_cursor(notes, datetime, uuid.UUID, kind=kind)
    with pytest.raises(Invalid):
        decode_cursor(encode_cursor(AT, ID), datetime, uuid.UUID, kind="notes")


@pytest.mark.parametrize(("limit", "expected"), [(None, 50), (1, 1), (500, 500)])
def test_limits(limit: Any, expected: int) -> None:
    assert check_limit(limit) == expected


@pytest.mark.parametrize("limit", [0, 501, True, "10", 2.0])
def test_limits_out_of_bounds_are_refused(limit: Any) -> None:
    with pytest.raises(Invalid) as caught:
        check_limit(limit)
    assert set(caught.value.fields or {}) == {"limit"}


class Row:
    def __init__(self, n: int) -> None:
        self.created_at, self.id = AT, uuid.UUID(int=n)


def test_the_extra_row_says_a_next_page_exists() -> None:
    rows = [Row(n) for n in range(1, 4)]
    full = page(rows, 2, [{"n": 1}, {"n": 2}, {"n": 3}])
    assert full["items"] == [{"n": 1}, {"n": 2}]
    assert decode_cursor(full["next_cursor"], datetime, uuid.UUID) == (AT, uuid.UUID(int=2))
    assert page(rows, 3, [{}] * 3)["next_cursor"] is None


def test_keyset_pages_after_the_cursor_in_either_order() -> None:
    table = Table("things", MetaData(), Column("id", Uuid, primary_key=True),
                  Column("created_at", DateTime(timezone=True)))

    def sql(**kwargs: Any) -> str:
        query = keyset(select(table), table, encode_cursor(AT, ID), 10, **kwargs)
        return " ".join(str(query.compile(dialect=postgresql.dialect())).split())

    assert "(things.created_at, things.id) > (" in sql()
    assert "ORDER BY things.created_at, things.id LIMIT" in sql()
    assert "(things.created_at, things.id) < (" in sql(newest_first=True)
    assert "ORDER BY things.created_at DESC, things.id DESC" in sql(newest_first=True)
