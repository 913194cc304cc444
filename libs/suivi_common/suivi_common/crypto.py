"""Personal data at rest: AES-GCM envelope encryption with one data key per network.

* Each ciphertext's associated data names its table, column and row, so a value
  copied to another row or column fails to decrypt instead of leaking.
* Each scope (a network id, or ``platform`` for the platform's own captured stock)
  has a random data key, stored wrapped by the master key in the owning service's
  ``data_keys`` table. Destroying it (crypto-shredding) makes every value under it
  unreadable, blind indexes included, since their HMAC key derives from it.
* Blind indexes (keyed HMAC of a normalised value) serve exact-match lookups of
  email and phone without decrypting anything.
* A controller (a user, for their office data) has a key of its own, scope
  ``<network id>/<controller tag>`` (``controller_scope``; the tag is a hash of the user
  id, so two UUIDs fit the 64 characters of ``data_keys.scope``), wrapped by its network's key rather
  than the master key: shredding it (the end of contract, annex IV.12) makes that one
  controller's data unreadable and leaves the network's other controllers alone, while
  shredding the network's key still takes every controller key under it along.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast, overload

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.orm import Session

from suivi_common import clock
from suivi_common.settings import is_dev, key_file, setting
from suivi_common.tables import CommonTables

PLATFORM_SCOPE = "platform"
#: separates a controller's scope from its network's (``<network>/<user>``)
SCOPE_SEPARATOR = "/"
_VERSION = b"\x01"
_KEY_CACHE_SECONDS = 30.0


class KeyDestroyed(Exception):
    """The scope's data key was shredded: its data is gone for good."""


def load_master_key() -> bytes:
    """The master key comes from config; dev gets a generated key in an ignored file."""
    raw = setting("SUIVI_MASTER_KEY")
    if raw:
        key = base64.b64decode(raw)
    else:
        if not is_dev():
            raise RuntimeError("SUIVI_MASTER_KEY must be set outside dev")
        path = Path(setting("SUIVI_MASTER_KEY_FILE", "var/master.key"))
        key = base64.b64decode(key_file(path, lambda: b64(AESGCM.generate_key(bit_length=256))))
    if len(key) != 32:
        raise RuntimeError("the master key must be 32 bytes (base64-encoded)")
    return key


def aad(table: str, column: str, row_id: Any) -> bytes:
    """What a sealed column value is bound to: moved to another row or column, it fails."""
    return f"{table}.{column}:{row_id}".encode()


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(12)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if not blob or blob[:1] != _VERSION:
        raise ValueError("unknown ciphertext version")
    return AESGCM(key).decrypt(blob[1:13], blob[13:], aad)


#: ``data_keys.scope``'s length
MAX_SCOPE = 64
_TAG_CHARS = 24  # 96 bits of SHA-256: no two users of a network share one


def controller_tag(user_id: str) -> str:
    """The user's part of a controller scope (the same in every network they are in)."""
    return hashlib.sha256(b"controller:" + str(user_id).encode()).hexdigest()[:_TAG_CHARS]


def controller_scope(network_id: str, user_id: str) -> str:
    """The key scope of one controller's office data, under its network's key."""
    if SCOPE_SEPARATOR in str(network_id):
        raise ValueError("a network id cannot hold the scope separator")
    scope = f"{network_id}{SCOPE_SEPARATOR}{controller_tag(user_id)}"
    if len(scope) > MAX_SCOPE:
        raise ValueError("the network id is too long for a controller scope")
    return scope


def parent_scope(scope: str) -> str | None:
    """The scope whose key wraps this one's; None: the master key wraps it."""
    head, sep, _ = scope.rpartition(SCOPE_SEPARATOR)
    return head if sep else None


def key_fingerprint(scope: str, wrapped: bytes) -> str:
    """A key's id for records (the certificate of destruction): it names one wrapped key
    without revealing anything of it."""
    return hashlib.sha256(scope.encode() + b"\0" + bytes(wrapped)).hexdigest()[:32]


def _derive(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=info).derive(key)


class KeyRing:
    """Unwraps and caches data keys; one per process, shared by its workers."""

    def __init__(self, master_key: bytes, tables: CommonTables, engine: Engine | None = None) -> None:
        self._master = master_key
        self._table = tables.data_keys
        self._engine = engine
        self._cache: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def _wrapping_key(self, session: Session, scope: str, create: bool) -> bytes:
        """The master key, or for a controller scope its network's data key (so the
        controller's key is gone with the network's too)."""
        parent = parent_scope(scope)
        return self._master if parent is None else self.data_key(session, parent, create)

    def _wrap(self, session: Session, scope: str, key: bytes) -> bytes:
        return seal(self._wrapping_key(session, scope, True), key, f"data-key:{scope}".encode())

    def _unwrap(self, session: Session, scope: str, wrapped: bytes) -> bytes:
        return open_sealed(self._wrapping_key(session, scope, False), wrapped,
                           f"data-key:{scope}".encode())

    def data_key(self, session: Session, scope: str, create: bool = True) -> bytes:
        cached = self._cache.get(scope)
        if cached and time.monotonic() - cached[0] < _KEY_CACHE_SECONDS:
            return cached[1]
        row = session.execute(
            select(self._table.c.wrapped_key, self._table.c.destroyed_at)
            .where(self._table.c.scope == scope)
        ).first()
        if row is None:
            if not create:
                raise KeyDestroyed(scope)
            self._create(session, scope)
            row = session.execute(
                select(self._table.c.wrapped_key, self._table.c.destroyed_at)
                .where(self._table.c.scope == scope)
            ).first()
        if row is None or row.destroyed_at is not None or row.wrapped_key is None:
            raise KeyDestroyed(scope)
        key = self._unwrap(session, scope, row.wrapped_key)
        with self._lock:
            self._cache[scope] = (time.monotonic(), key)
        return key

    def preload(self, session: Session, scopes: Sequence[str]) -> None:
        """Unwrap many live keys with one query per thousand (a look-up across every
        controller's key, such as a data-subject search, would otherwise read them one by
        one). Shredded or missing scopes are left out; ``data_key`` still says so."""
        now = time.monotonic()
        missing = sorted({s for s in scopes if (c := self._cache.get(s)) is None
                          or now - c[0] >= _KEY_CACHE_SECONDS})
        t = self._table
        for start in range(0, len(missing), 1000):
            rows = session.execute(select(t.c.scope, t.c.wrapped_key).where(
                t.c.scope.in_(missing[start:start + 1000]), t.c.wrapped_key.is_not(None),
                t.c.destroyed_at.is_(None))).all()
            # a network's key before its controllers' (it wraps them)
            for row in sorted(rows, key=lambda r: (r.scope.count(SCOPE_SEPARATOR), r.scope)):
                try:
                    key = self._unwrap(session, row.scope, row.wrapped_key)
                except KeyDestroyed:
                    continue
                with self._lock:
                    self._cache[row.scope] = (time.monotonic(), key)

    def _create(self, session: Session, scope: str) -> None:
        """Store a new key in a transaction of its own: a key used to encrypt must never
        vanish with a worker's rollback while this process still has it cached."""
        new_key = AESGCM.generate_key(bit_length=256)
        statement = (pg_insert(self._table)
                     .values(scope=scope, wrapped_key=self._wrap(session, scope, new_key))
                     .on_conflict_do_nothing(index_elements=["scope"]))
        if self._engine is None:
            session.execute(statement)
            return
        with self._engine.begin() as conn:
            conn.execute(statement)

    def destroy(self, session: Session, scope: str) -> None:
        """Crypto-shred: forget the wrapped key; the row stays to refuse re-creation."""
        result = cast("CursorResult[Any]", session.execute(
            update(self._table).where(self._table.c.scope == scope)
            .values(wrapped_key=None, destroyed_at=clock.now())
        ))
        if result.rowcount == 0:
            session.execute(insert(self._table).values(
                scope=scope, wrapped_key=None, destroyed_at=clock.now()))
        with self._lock:
            self._cache.pop(scope, None)

    def destroy_controller(self, session: Session, user_id: str,
                           network_ids: Iterable[str]) -> list[dict[str, str]]:
        """Crypto-shred every key of one controller (the end of contract): theirs in each of
        ``network_ids`` and any other ``<network>/<their tag>`` this key table holds.
        Returns ``[{scope, key_id}]`` of the keys that were live (``key_fingerprint``, for
        the certificate); a repeat finds none. Each key row is locked first, so a
        concurrent shred reports a key once."""
        t = self._table
        scopes = {controller_scope(str(n), user_id) for n in network_ids if n}
        scopes |= set(session.execute(select(t.c.scope).where(t.c.scope.endswith(
            f"{SCOPE_SEPARATOR}{controller_tag(user_id)}", autoescape=True))).scalars())
        keys = []
        for scope in sorted(scopes):
            row = session.execute(select(t.c.wrapped_key).where(t.c.scope == scope)
                                  .with_for_update()).first()
            if row is not None and row.wrapped_key is not None:
                keys.append({"scope": scope, "key_id": key_fingerprint(scope, row.wrapped_key)})
            self.destroy(session, scope)  # also refuses the scope's re-creation later
        return keys

    def subkey(self, purpose: str) -> bytes:
        """A key of its own for one purpose, derived from the master key (e.g. accounts'
        password links), so no second secret has to be managed."""
        return _derive(self._master, b"purpose:" + purpose.encode())


class Vault:
    """Per-worker view of the key ring bound to the worker's session."""

    def __init__(self, ring: KeyRing, session: Session) -> None:
        self._ring = ring
        self._session = session

    def encrypt(self, scope: str, table: str, column: str, row_id: Any,
                value: str | None) -> bytes | None:
        if value is None:
            return None
        key = self._ring.data_key(self._session, scope)
        return seal(key, value.encode(), aad(table, column, row_id))

    def decrypt(self, scope: str, table: str, column: str, row_id: Any,
                blob: bytes | None) -> str | None:
        if blob is None:
            return None
        key = self._ring.data_key(self._session, scope, create=False)
        return open_sealed(key, bytes(blob), aad(table, column, row_id)).decode()

    @overload
    def blind_index(self, scope: str, kind: str, value: str) -> bytes: ...
    @overload
    def blind_index(self, scope: str, kind: str, value: None) -> None: ...

    def blind_index(self, scope: str, kind: str, value: str | None) -> bytes | None:
        """Keyed HMAC of an already-normalised value (lower-case email, E.164 phone)."""
        if value is None:
            return None
        key = _derive(self._ring.data_key(self._session, scope), b"blind-index:" + kind.encode())
        return hmac.new(key, value.encode(), hashlib.sha256).digest()

    def destroy(self, scope: str) -> None:
        self._ring.destroy(self._session, scope)

    def destroy_controller(self, user_id: str, network_ids: Iterable[str]) -> list[dict[str, str]]:
        return self._ring.destroy_controller(self._session, user_id, network_ids)

    def reseal(self, old_scope: str, new_scope: str, table: str, column: str, row_id: Any,
               blob: bytes | None) -> bytes | None:
        """A sealed value moved to another key (re-keying); None stays None."""
        return self.encrypt(new_scope, table, column, row_id,
                            self.decrypt(old_scope, table, column, row_id, blob))

    def preload(self, scopes: Sequence[str]) -> None:
        self._ring.preload(self._session, scopes)

    def subkey(self, purpose: str) -> bytes:
        return self._ring.subkey(purpose)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
