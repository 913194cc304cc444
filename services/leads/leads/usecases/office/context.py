"""What every office use case receives, and its crypto helpers (the office's settings are
``leads.settings.TUNABLES``).

Use cases are plain functions taking an ``OfficeCtx`` (session, vault, time, event sink,
who acts and through which path), so they run the same under nameko, in tests and in the
benchmark.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from leads.domain.history import ChangeSource
from suivi_common.crypto import Vault, aad, controller_scope, open_sealed, seal


@dataclass(frozen=True)
class Actor:
    """Who changes something, and through which path (recorded in the history)."""

    user_id: str
    source: ChangeSource
    network_id: str | None = None


SYSTEM_ACTOR = Actor("system", ChangeSource.SYSTEM)

Emit = Callable[[str, Mapping[str, Any]], Any]


@dataclass
class OfficeCtx:
    session: Session
    vault: Vault
    now: datetime
    emit: Emit
    actor: Actor = SYSTEM_ACTOR


# --- encrypted columns ----------------------------------------------------------------------

def office_scope(network_id: str, owner_id: str) -> str:
    """The key of an owner's office data: the owner's own (their controller key, under the
    network's), so that the end of contract shreds exactly their office (annex IV.12)."""
    return controller_scope(str(network_id), str(owner_id))


def scope_of(row: Any) -> str:
    """The scope a row's encrypted columns are under: ``key_scope``, or (None) its
    network's, for a row written before controller keys and not re-keyed yet."""
    return row.key_scope or row.network_id


def encrypt_json(vault: Vault, scope: str, table: str, column: str, row_id: Any,
                 value: Any) -> bytes | None:
    if value is None:
        return None
    return vault.encrypt(scope, table, column, row_id, json.dumps(value, default=str))


def decrypt_json(vault: Vault, scope: str, table: str, column: str, row_id: Any,
                 blob: bytes | None) -> Any:
    if blob is None:
        return None
    return json.loads(vault.decrypt(scope, table, column, row_id, blob) or "null")


def new_lead_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_lead_key(vault: Vault, scope: str, lead_id: Any, key: bytes) -> bytes | None:
    return vault.encrypt(scope, "office_leads", "lead_key", lead_id, base64.b64encode(key).decode())


def unwrap_lead_key(vault: Vault, scope: str, lead_id: Any, wrapped: bytes | None) -> bytes | None:
    """None once the lead was deleted or erased: its history values are shredded."""
    if wrapped is None:
        return None
    return base64.b64decode(vault.decrypt(scope, "office_leads", "lead_key", lead_id, wrapped) or "")


def seal_value(key: bytes | None, column: str, row_id: Any, value: Any) -> bytes | None:
    """A history value sealed with the lead's own key (None stays None, no key = gone)."""
    if value is None or key is None:
        return None
    return seal(key, json.dumps(value, default=str).encode(), aad("office_history", column, row_id))


def open_value(key: bytes | None, column: str, row_id: Any, blob: bytes | None) -> Any:
    if blob is None or key is None:
        return None
    return json.loads(open_sealed(key, bytes(blob), aad("office_history", column, row_id)))
