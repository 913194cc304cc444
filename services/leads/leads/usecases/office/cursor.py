"""Opaque page cursors: the keyset of the last item returned, base64url JSON.

A cursor carries its kind, so a cursor of one listing handed to another (or edited by
hand) is refused as Invalid instead of silently paging wrong.
"""
from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from suivi_common.errors import Invalid

MAX_LIMIT = 500


def encode(kind: str, **values: Any) -> str:
    body = {"k": kind, **{k: (v.isoformat() if isinstance(v, datetime) else
                              str(v) if isinstance(v, uuid.UUID) else v)
                          for k, v in values.items()}}
    return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()


def decode(cursor: str | None, kind: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(str(cursor).encode()))
        if not isinstance(body, dict) or body.get("k") != kind:
            raise ValueError
        return body
    except (ValueError, TypeError):
        raise Invalid("invalid cursor", fields={"cursor": "invalid or from another listing"}) from None


def instant(body: dict[str, Any], key: str = "c") -> datetime:
    try:
        value = datetime.fromisoformat(body[key])
        if value.tzinfo is None:
            raise ValueError
        return value
    except (KeyError, TypeError, ValueError):
        raise Invalid("invalid cursor", fields={"cursor": "invalid"}) from None


def row_id(body: dict[str, Any], key: str = "i") -> uuid.UUID:
    try:
        return uuid.UUID(str(body[key]))
    except (KeyError, ValueError):
        raise Invalid("invalid cursor", fields={"cursor": "invalid"}) from None


def limit_of(value: Any, default: int = 50) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise Invalid(f"limit must be 1 to {MAX_LIMIT}", fields={"limit": f"1 to {MAX_LIMIT}"})
    return value
