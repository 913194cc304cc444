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
* Key ids and rotation. A ciphertext (envelope version 2) names the key that sealed it
  (``key_id``: 4 bytes derived from the key, revealing nothing of it); version 1 (no id,
  before rotation existed) still opens. ``SUIVI_MASTER_KEYS_PREVIOUS`` lists the master
  keys being rotated away from: they still unwrap until ``KeyRing.rewrap`` has re-wrapped
  every key under ``SUIVI_MASTER_KEY``, then leave the config, and their wrappings are
  refused. A scope's wrapped value holds its live key versions, current first: a data-key
  rotation (``begin_rotation``) adds a new current version, rows are resealed under it,
  and ``retire_old_versions`` keeps only the current one.
* Subkeys (``subkey``) derive from a root stored in ``data_keys`` (scope
  ``SUBKEY_SCOPE``, wrapped by the master key, first set to the master key the platform
  started with), so a master-key rotation changes no subkey: links already sent still work.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, cast, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import insert, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.orm import Session

from suivi_common import clock
from suivi_common.settings import is_dev, key_file, setting
from suivi_common.tables import CommonTables

PLATFORM_SCOPE = "platform"
#: separates a controller's scope from its network's (``<network>/<user>``)
SCOPE_SEPARATOR = "/"
#: the root of ``subkey``, kept in ``data_keys`` (no network id has this form)
SUBKEY_SCOPE = "master-subkeys"
_V1 = b"\x01"  # nonce + ciphertext
_V2 = b"\x02"  # key id + nonce + ciphertext
_KEY_ID_BYTES = 4
_KEY_BYTES = 32
#: how long a process keeps an unwrapped key: a rotation waits that long before its
#: last sweep, so no process still seals under a version being retired
KEY_CACHE_SECONDS = 30.0
_KEY_CACHE_SECONDS = KEY_CACHE_SECONDS


class KeyDestroyed(Exception):
    """The scope's data key was shredded: its data is gone for good."""


class UnknownKeyId(InvalidTag):
    """The ciphertext names a key this process does not hold (e.g. a master key retired
    after a rotation). An ``InvalidTag``: callers treat it as a value that cannot open."""


def _decode_key(raw: str, name: str) -> bytes:
    key = base64.b64decode(raw.strip())
    if len(key) != _KEY_BYTES:
        raise RuntimeError(f"{name}: a master key must be 32 bytes (base64-encoded)")
    return key


def load_previous_master_keys() -> tuple[bytes, ...]:
    """``SUIVI_MASTER_KEYS_PREVIOUS``: the master keys a rotation is moving away from
    (comma-separated base64, newest first); they only unwrap, never wrap."""
    raw = str(setting("SUIVI_MASTER_KEYS_PREVIOUS", "") or "")
    return tuple(_decode_key(part, "SUIVI_MASTER_KEYS_PREVIOUS")
                 for part in raw.split(",") if part.strip())


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


@lru_cache(maxsize=4096)
def key_id(key: bytes) -> bytes:
    """The id a ciphertext carries of the key that sealed it (one-way: it reveals nothing)."""
    return _derive(key, b"key-id")[:_KEY_ID_BYTES]


def sealed_key_id(blob: bytes) -> bytes | None:
    """The id of the key that sealed ``blob``; None for version 1 (which names none)."""
    if blob[:1] == _V2:
        return bytes(blob[1:1 + _KEY_ID_BYTES])
    if blob[:1] == _V1:
        return None
    raise ValueError("unknown ciphertext version")


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(12)
    return _V2 + key_id(key) + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(keys: bytes | Sequence[bytes], blob: bytes, aad: bytes) -> bytes:
    """Open with the key the blob names among ``keys`` (UnknownKeyId if none is it); a
    version-1 blob names none, so each key is tried (a wrong one fails authentication)."""
    candidates = [keys] if isinstance(keys, bytes) else list(keys)
    if not candidates:
        raise UnknownKeyId("no key to open with")
    kid = sealed_key_id(bytes(blob[:1 + _KEY_ID_BYTES]))
    if kid is None:
        for key in candidates[:-1]:
            try:
                return AESGCM(key).decrypt(blob[1:13], blob[13:], aad)
            except InvalidTag:
                continue
        return AESGCM(candidates[-1]).decrypt(blob[1:13], blob[13:], aad)
    for key in candidates:
        if key_id(key) == kid:
            body = blob[1 + _KEY_ID_BYTES:]
            return AESGCM(key).decrypt(body[:12], body[12:], aad)
    raise UnknownKeyId("the ciphertext names a key that is not held")


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

    def __init__(self, master_key: bytes, tables: CommonTables, engine: Engine | None = None,
                 previous: Sequence[bytes] = ()) -> None:
        self._master = master_key
        self._previous = tuple(previous)
        self._table = tables.data_keys
        self._engine = engine
        self._cache: dict[str, tuple[float, tuple[bytes, ...]]] = {}
        self._lock = threading.Lock()
        self._subkey_root: bytes | None = None

    def _wrapping_keys(self, session: Session, scope: str, create: bool) -> tuple[bytes, ...]:
        """The master key (then the previous ones, to unwrap during a rotation), or for a
        controller scope its network's key versions (so the controller's key is gone with
        the network's too). The first one wraps."""
        parent = parent_scope(scope)
        if parent is None:
            return (self._master, *self._previous)
        return self.data_keys(session, parent, create)

    def _wrap(self, session: Session, scope: str, keys: Sequence[bytes]) -> bytes:
        return seal(self._wrapping_keys(session, scope, True)[0], b"".join(keys),
                    f"data-key:{scope}".encode())

    def _unwrap(self, session: Session, scope: str, wrapped: bytes) -> tuple[bytes, ...]:
        plain = open_sealed(self._wrapping_keys(session, scope, False), wrapped,
                            f"data-key:{scope}".encode())
        return tuple(plain[i:i + _KEY_BYTES] for i in range(0, len(plain), _KEY_BYTES))

    def data_key(self, session: Session, scope: str, create: bool = True) -> bytes:
        """The scope's current key: the one that seals."""
        return self.data_keys(session, scope, create)[0]

    def data_keys(self, session: Session, scope: str, create: bool = True) -> tuple[bytes, ...]:
        """The scope's live key versions, current first (more than one during a rotation)."""
        cached = self._cache.get(scope)
        if cached and time.monotonic() - cached[0] < _KEY_CACHE_SECONDS:
            return cached[1]
        row = self._row(session, scope)
        if row is None:
            if not create:
                raise KeyDestroyed(scope)
            self._create(session, scope)
            row = self._row(session, scope)
        if row is None or row.destroyed_at is not None or row.wrapped_key is None:
            raise KeyDestroyed(scope)
        keys = self._unwrap(session, scope, row.wrapped_key)
        with self._lock:
            self._cache[scope] = (time.monotonic(), keys)
        return keys

    def _row(self, session: Session, scope: str, lock: bool = False) -> Any:
        query = (select(self._table.c.wrapped_key, self._table.c.destroyed_at)
                 .where(self._table.c.scope == scope))
        return session.execute(query.with_for_update() if lock else query).first()

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
                    keys = self._unwrap(session, row.scope, row.wrapped_key)
                except KeyDestroyed:
                    continue
                with self._lock:
                    self._cache[row.scope] = (time.monotonic(), keys)

    def _create(self, session: Session, scope: str, key: bytes | None = None) -> None:
        """Store a new key in a transaction of its own: a key used to encrypt must never
        vanish with a worker's rollback while this process still has it cached."""
        new_key = key or AESGCM.generate_key(bit_length=256)
        statement = (pg_insert(self._table)
                     .values(scope=scope, wrapped_key=self._wrap(session, scope, [new_key]))
                     .on_conflict_do_nothing(index_elements=["scope"]))
        if self._engine is None:
            session.execute(statement)
            return
        with self._engine.begin() as conn:
            conn.execute(statement)

    @property
    def table(self) -> Any:
        """The ``data_keys`` table the ring reads (a rotation check lists its scopes)."""
        return self._table

    def forget(self, scope: str | None = None) -> None:
        """Drop cached keys (one scope's, or all): the next use reads them again."""
        with self._lock:
            if scope is None:
                self._cache.clear()
            else:
                self._cache.pop(scope, None)

    # -- rotation ---------------------------------------------------------------------

    def _wrapped_by_current(self, session: Session, scope: str, wrapped: bytes) -> bool:
        return sealed_key_id(bytes(wrapped)) == key_id(self._wrapping_keys(session, scope, False)[0])

    def rewrap(self, prefix: str = "", batch: int = 500) -> dict[str, int]:
        """Re-wrap every live key (or those whose scope starts with ``prefix``) under its
        wrapping key's current version: the master key after a master-key rotation, a
        network's new version for its controllers' keys. Keyset-paged, one short
        transaction a batch, each row locked while it is rewritten; idempotent and
        resumable (a key already under the current wrapping key is left alone). Returns
        ``{rewrapped, unchanged}``."""
        if self._engine is None:
            raise RuntimeError("rewrap needs the ring's engine")
        t = self._table
        counts = {"rewrapped": 0, "unchanged": 0}
        after = ""
        while True:
            with Session(self._engine) as session, session.begin():
                rows = session.execute(
                    select(t.c.scope, t.c.wrapped_key)
                    .where(t.c.scope > after, t.c.wrapped_key.is_not(None),
                           t.c.scope.startswith(prefix, autoescape=True) if prefix else true())
                    .order_by(t.c.scope).limit(batch).with_for_update()).all()
                for row in rows:  # a network's scope sorts before its controllers'
                    if self._wrapped_by_current(session, row.scope, row.wrapped_key):
                        counts["unchanged"] += 1
                        continue
                    keys = self._unwrap(session, row.scope, row.wrapped_key)
                    session.execute(update(t).where(t.c.scope == row.scope)
                                    .values(wrapped_key=self._wrap(session, row.scope, keys)))
                    counts["rewrapped"] += 1
            if len(rows) < batch:
                return counts
            after = rows[-1].scope

    @property
    def master_key_id(self) -> str:
        """The current master key's id (hex), so a tool can check every service has it."""
        return key_id(self._master).hex()

    @property
    def previous_master_keys(self) -> int:
        return len(self._previous)

    def left_under_old_master(self) -> int:
        """Live keys the master key wraps that the current one does not (yet)."""
        if self._engine is None:
            raise RuntimeError("needs the ring's engine")
        t = self._table
        current = key_id(self._master)
        with self._engine.connect() as conn:
            blobs = conn.execute(select(t.c.wrapped_key).where(
                t.c.wrapped_key.is_not(None),
                t.c.scope.not_like(f"%{SCOPE_SEPARATOR}%"))).scalars()
            return sum(1 for b in blobs if sealed_key_id(bytes(b)) != current)

    def begin_rotation(self, session: Session, scope: str) -> bool:
        """A new current key version for ``scope``, the old ones kept to open what they
        sealed; False if a rotation is already under way (several versions live)."""
        row = self._row(session, scope, lock=True)
        if row is None or row.wrapped_key is None or row.destroyed_at is not None:
            raise KeyDestroyed(scope)
        keys = self._unwrap(session, scope, row.wrapped_key)
        if len(keys) > 1:
            return False
        new_key = AESGCM.generate_key(bit_length=256)
        session.execute(update(self._table).where(self._table.c.scope == scope)
                        .values(wrapped_key=self._wrap(session, scope, [new_key, *keys])))
        self.forget(scope)
        return True

    def retire_old_versions(self, session: Session, scope: str) -> int:
        """Keep only the current version (once nothing is sealed under the others any
        more): returns how many versions were retired."""
        row = self._row(session, scope, lock=True)
        if row is None or row.wrapped_key is None or row.destroyed_at is not None:
            raise KeyDestroyed(scope)
        keys = self._unwrap(session, scope, row.wrapped_key)
        if len(keys) > 1:
            session.execute(update(self._table).where(self._table.c.scope == scope)
                            .values(wrapped_key=self._wrap(session, scope, keys[:1])))
        self.forget(scope)
        return len(keys) - 1

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
        """A key of its own for one purpose (e.g. accounts' password links), derived from
        the subkey root, so no second secret has to be managed and a master-key rotation
        changes none of them."""
        return _derive(self._root(), b"purpose:" + purpose.encode())

    def _root(self) -> bytes:
        """The subkey root: stored wrapped under ``SUBKEY_SCOPE``, first set to the master
        key the platform ran on before any rotation (the oldest configured one), which
        is what subkeys derived from before the root was stored. Without an engine
        (a migration, a unit test): that key itself."""
        if self._subkey_root is not None:
            return self._subkey_root
        legacy = (self._master, *self._previous)[-1]
        if self._engine is None:
            return legacy
        with Session(self._engine) as session, session.begin():
            if self._row(session, SUBKEY_SCOPE) is None:
                self._create(session, SUBKEY_SCOPE, legacy)
            root = self.data_key(session, SUBKEY_SCOPE, create=False)
        self._subkey_root = root
        return root


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
        keys = self._ring.data_keys(self._session, scope, create=False)
        return open_sealed(keys, bytes(blob), aad(table, column, row_id)).decode()

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

    def blind_indexes(self, scope: str, kind: str, value: str) -> list[bytes]:
        """The value's blind index under each live key version, current first: what a
        look-up matches during a data-key rotation (rows not yet resealed keep the old)."""
        return [hmac.new(_derive(key, b"blind-index:" + kind.encode()), value.encode(),
                         hashlib.sha256).digest()
                for key in self._ring.data_keys(self._session, scope)]

    def sealed_prefix(self, scope: str) -> bytes:
        """How every value sealed by the scope's current key version begins (envelope
        version and key id): a query finds what a rotation has left to reseal."""
        return _V2 + key_id(self._ring.data_key(self._session, scope))

    def is_current(self, scope: str, blob: bytes | None) -> bool:
        """Whether ``blob`` is sealed under the scope's current key version (None is)."""
        if blob is None:
            return True
        return sealed_key_id(bytes(blob)) == key_id(self._ring.data_key(self._session, scope))

    def reseal_current(self, scope: str, table: str, column: str, row_id: Any,
                       blob: bytes | None) -> bytes | None:
        """``blob`` under the scope's current key version (a data-key rotation)."""
        if self.is_current(scope, blob):
            return blob
        return self.encrypt(scope, table, column, row_id,
                            self.decrypt(scope, table, column, row_id, blob))

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
