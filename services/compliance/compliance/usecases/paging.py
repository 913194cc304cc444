"""Cursor paging: ``{items, next_cursor}``, default 50, at most 500 per page. The cursor
is opaque to clients: the last row's key, base64 JSON."""
from __future__ import annotations

import base64
import json
from typing import Any

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


def encode(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode(cursor: object) -> list[Any] | None:
    if cursor in (None, ""):
        return None
    try:
        assert isinstance(cursor, str)
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        assert isinstance(key, list)
        return key
    except (AssertionError, ValueError, TypeError):
        raise Invalid("Invalid cursor", fields={"cursor": "invalid"}) from None


def page(items: list[dict[str, Any]], limit: int, key_of: Any) -> dict[str, Any]:
    """``items`` were fetched with ``limit + 1``: the extra one says a next page exists."""
    more = len(items) > limit
    kept = items[:limit]
    return {"items": kept, "next_cursor": encode(key_of(kept[-1])) if more else None}
