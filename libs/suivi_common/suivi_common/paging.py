"""Keyset pages: ``{items, next_cursor}``, default 50, at most 500 a page.

A cursor is opaque to clients: the keyset of the last item returned, as base64url JSON
without padding (``[created_at, id]`` for a listing in creation order). ``kind`` makes it
``[kind, ...]``, so a cursor handed to another listing is refused instead of paging wrong.
"""
from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, tuple_
from sqlalchemy.orm import Session

from suivi_common.errors import Invalid

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def check_limit(limit: object) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}",
                      fields={"limit": f"between 1 and {MAX_LIMIT}"})
    return limit


def encode_cursor(*values: Any, kind: str | None = None) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID)
             else v for v in ((kind, *values) if kind else values)]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: object, *types: type, kind: str | None = None) -> tuple[Any, ...] | None:
    """The values ``encode_cursor`` wrote, as ``types`` (``datetime``, aware; ``uuid.UUID``,
    ``int``, ``str``); None for no cursor, Invalid for anything else."""
    if cursor is None or cursor == "":
        return None
    try:
        if not isinstance(cursor, str):
            raise TypeError
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        head = [kind] if kind else []
        if not isinstance(values, list) or values[:len(head)] != head \
                or len(values) != len(head) + len(types):
            raise ValueError
        return tuple(_parse(t, v) for t, v in zip(types, values[len(head):], strict=True))
    except (ValueError, TypeError):
        raise Invalid("Invalid cursor", fields={"cursor": "invalid"}) from None


def _parse(kind: type, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int if kind is int else str):
        raise TypeError
    parsed = datetime.fromisoformat(str(value)) if kind is datetime else kind(value)
    if kind is datetime and parsed.tzinfo is None:
        raise ValueError  # every listed instant is aware
    return parsed


def keyset(query: Select[Any], table: Table, cursor: object, limit: int,
           newest_first: bool = False, kind: str | None = None) -> Select[Any]:
    """``query`` after ``cursor`` in ``(created_at, id)`` order, oldest (or newest) first,
    with ``limit + 1`` rows so ``page`` can tell a next page exists."""
    key = (table.c.created_at, table.c.id)
    after = decode_cursor(cursor, datetime, uuid.UUID, kind=kind)
    if after is not None:
        query = query.where(tuple_(*key) < after if newest_first else tuple_(*key) > after)
    order = [c.desc() for c in key] if newest_first else list(key)
    return query.order_by(*order).limit(limit + 1)


def page(rows: Sequence[Any], limit: int, items: list[dict[str, Any]],
         kind: str | None = None) -> dict[str, Any]:
    """The page of ``rows`` fetched by ``keyset``; ``items`` shows its first ``limit`` rows."""
    last = rows[limit - 1] if len(rows) > limit else None
    return {"items": items[:limit],
            "next_cursor": None if last is None else encode_cursor(last.created_at, last.id, kind=kind)}


def listing(session: Session, query: Select[Any], table: Table, cursor: object, limit: int,
            view: Callable[[Any], dict[str, Any]], *, newest_first: bool = False,
            kind: str | None = None) -> dict[str, Any]:
    """One page of ``query`` (``keyset`` then ``page``), each row shown by ``view``;
    ``limit`` as ``check_limit`` returned it."""
    rows = session.execute(keyset(query, table, cursor, limit, newest_first, kind)).all()
    return page(rows, limit, [view(r) for r in rows[:limit]], kind=kind)
