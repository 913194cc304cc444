"""Keyset pagination: ``{items, next_cursor}``, default 50, at most 500 per page."""
from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, and_, or_

from suivi_common.errors import Invalid

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def check_limit(limit: object) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}",
                      fields={"limit": f"between 1 and {MAX_LIMIT}"})
    return limit


def encode(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: object) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None or cursor == "":
        return None
    try:
        assert isinstance(cursor, str)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, row_id = json.loads(raw)
        return datetime.fromisoformat(created), uuid.UUID(row_id)
    except (AssertionError, ValueError, TypeError):
        raise Invalid("Invalid cursor", fields={"cursor": "invalid"}) from None


def newest_first(query: Select[Any], table: Table, cursor: object, limit: int) -> Select[Any]:
    """``query`` ordered newest first from after ``cursor``, ``limit + 1`` rows."""
    after = decode(cursor)
    if after is not None:
        created, row_id = after
        query = query.where(or_(table.c.created_at < created,
                                and_(table.c.created_at == created, table.c.id < row_id)))
    return query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit + 1)


def page(rows: list[Any], limit: int, items: list[dict[str, Any]]) -> dict[str, Any]:
    """``rows`` were fetched with ``limit + 1``: the extra one says a next page exists."""
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return {"items": items[:limit],
            "next_cursor": encode(last.created_at, last.id) if last is not None else None}
