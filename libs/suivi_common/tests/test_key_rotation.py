"""Key ids and rotation: the version-2 envelope names its key, version 1 still opens,
the previous master keys unwrap during a rotation and are refused once it is over, and
a data key's versions live side by side until the old ones retire."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, MetaData, select, text
from sqlalchemy.orm import Session

from suivi_common import crypto, key_rotation
from suivi_common.crypto import (
    SUBKEY_SCOPE,
    KeyRing,
    UnknownKeyId,
    Vault,
    key_id,
    open_sealed,
    seal,
    sealed_key_id,
)
from suivi_common.tables import define_common_tables
from suivi_common.testing import infra

metadata = MetaData()
tables = define_common_tables(metadata)
URL = infra.test_db_url("common_rotation")


@pytest.fixture
def engine() -> Iterator[Engine]:
    with infra.schema_engine(URL, metadata) as engine:
        yield engine


def v1_seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """What sealing wrote before key ids existed."""
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def test_version_2_carries_the_key_id_and_version_1_still_opens() -> None:
    key, other = os.urandom(32), os.urandom(32)
    blob = seal(key, b"secret", b"t.c:1")
    assert blob[:1] == b"\x02" and sealed_key_id(blob) == key_id(key) != key_id(other)
    assert open_sealed([other, key], blob, b"t.c:1") == b"secret"
    old = v1_seal(key, b"legacy", b"t.c:1")
    assert sealed_key_id(old) is None
    assert open_sealed(key, old, b"t.c:1") == b"legacy"
    assert open_sealed([other, key], old, b"t.c:1") == b"legacy"  # each key is tried
    with pytest.raises(InvalidTag):
        open_sealed([other], old, b"t.c:1")


def test_an_unknown_key_id_is_refused() -> None:
    blob = seal(os.urandom(32), b"secret", b"t.c:1")
    with pytest.raises(UnknownKeyId):
        open_sealed(os.urandom(32), blob, b"t.c:1")
    with pytest.raises(ValueError):
        open_sealed(os.urandom(32), b"\x07" + blob[1:], b"t.c:1")


def wrapped(engine: Engine, scope: str) -> bytes:
    with engine.connect() as conn:
        return bytes(conn.execute(select(tables.data_keys.c.wrapped_key)
                                  .where(tables.data_keys.c.scope == scope)).scalar_one())


def test_master_rotation_keeps_data_readable_then_refuses_the_old_key(engine: Engine) -> None:
    old, new = os.urandom(32), os.urandom(32)
    ring = KeyRing(old, tables, engine)
    with Session(engine) as s:
        vault = Vault(ring, s)
        blobs = {scope: vault.encrypt(scope, "t", "c", 1, scope)
                 for scope in ("net-a", "net-a/u1", "platform")}
        links = ring.subkey("links")
        s.commit()
    # before any key id existed: a network key wrapped by version 1
    with engine.begin() as conn:
        legacy_key = os.urandom(32)
        conn.execute(tables.data_keys.insert().values(
            scope="net-old", wrapped_key=v1_seal(old, legacy_key, b"data-key:net-old")))
    legacy_blob = v1_seal(legacy_key, b"net-old", crypto.aad("t", "c", 1))

    rotating = KeyRing(new, tables, engine, previous=[old])
    assert rotating.subkey("links") == links
    assert rotating.rewrap() == {"rewrapped": 4, "unchanged": 1}  # net-a/u1: under net-a
    assert rotating.rewrap() == {"rewrapped": 0, "unchanged": 5}  # idempotent
    assert sealed_key_id(wrapped(engine, "net-a")) == key_id(new)

    after = KeyRing(new, tables, engine)  # the previous key left the config
    with Session(engine) as s:
        vault = Vault(after, s)
        for scope, blob in blobs.items():
            assert vault.decrypt(scope, "t", "c", 1, blob) == scope
        assert vault.decrypt("net-old", "t", "c", 1, legacy_blob) == "net-old"
        assert after.subkey("links") == links  # links already sent still work
    with Session(engine) as s, pytest.raises(UnknownKeyId):
        Vault(KeyRing(old, tables, engine), s).decrypt("net-a", "t", "c", 1, blobs["net-a"])


def test_master_rotation_leaves_no_key_of_any_scope_under_the_old_master(engine: Engine) -> None:
    """Issue 14 §5: every network AND controller key. The master key wraps the top-level
    scopes (networks, ``platform``, the subkey root, compliance's own); a network's key
    wraps its controllers' (``<network>/<tag>``), so those need no re-wrap, yet must still
    open once the old master key is gone: checked for every scope, a network in the middle
    of a data-key rotation and a version-1 controller key among them."""
    old, new = os.urandom(32), os.urandom(32)
    ring = KeyRing(old, tables, engine)
    scopes = ["net-a", crypto.controller_scope("net-a", "u1"),
              crypto.controller_scope("net-a", "u2"), "net-b",
              crypto.controller_scope("net-b", "u1"), "platform", "request:42", "shredded"]
    with Session(engine) as s:
        vault = Vault(ring, s)
        blobs = {scope: vault.encrypt(scope, "t", "c", 1, scope) for scope in scopes}
        ring.subkey("links")
        vault.destroy("shredded")
        assert ring.begin_rotation(s, "net-b")  # net-b's data key: two versions live
        blobs["late"] = vault.encrypt(crypto.controller_scope("net-b", "u9"), "t", "c", 1, "late")
        s.commit()
    legacy_controller = crypto.controller_scope("net-a", "u-legacy")
    legacy_key = os.urandom(32)
    with Session(engine) as s:
        network_key = ring.data_key(s, "net-a")
    with engine.begin() as conn:  # wrapped before key ids existed
        conn.execute(tables.data_keys.insert().values(
            scope=legacy_controller,
            wrapped_key=v1_seal(network_key, legacy_key, f"data-key:{legacy_controller}".encode())))
    live = sorted(set(scopes) - {"shredded"} | {SUBKEY_SCOPE, legacy_controller,
                                                crypto.controller_scope("net-b", "u9")})
    assert key_rotation.unopened_scopes(KeyRing(new, tables, engine), engine) == live

    report = key_rotation.rewrap_data_keys(KeyRing(new, tables, engine, previous=[old]), "t")
    assert report["left_under_old_master"] == 0
    # net-a, net-b, platform, request:42 and the subkey root under the new master key;
    # net-b/u1 under net-b's new version, the version-1 controller key given a key id
    assert report["rewrapped"] == 7

    only_new, only_old = KeyRing(new, tables, engine), KeyRing(old, tables, engine)
    assert key_rotation.unopened_scopes(only_new, engine) == []
    assert key_rotation.unopened_scopes(only_old, engine) == live  # none opens with the old
    with engine.connect() as conn:
        rows = conn.execute(select(tables.data_keys.c.scope, tables.data_keys.c.wrapped_key)
                            .where(tables.data_keys.c.wrapped_key.is_not(None))).all()
    with Session(engine) as s:
        for row in rows:  # each key under its wrapping key's current version
            parent = crypto.parent_scope(row.scope)
            wrapping = new if parent is None else only_new.data_key(s, parent, create=False)
            assert sealed_key_id(bytes(row.wrapped_key)) == key_id(wrapping), row.scope
            assert sealed_key_id(bytes(row.wrapped_key)) != key_id(old), row.scope
        vault = Vault(only_new, s)
        for scope, blob in blobs.items():
            if scope == "late":
                scope = crypto.controller_scope("net-b", "u9")
            elif scope == "shredded":
                continue
            assert vault.decrypt(scope, "t", "c", 1, blob) in (scope, "late")
        assert only_new.data_key(s, legacy_controller, create=False) == legacy_key


def test_subkeys_root_is_the_oldest_configured_key_when_first_stored(engine: Engine) -> None:
    old, new = os.urandom(32), os.urandom(32)
    legacy = KeyRing(old, tables).subkey("p")  # before the root was stored
    assert KeyRing(new, tables, engine, previous=[old]).subkey("p") == legacy
    assert KeyRing(new, tables, engine).subkey("p") == legacy
    assert sealed_key_id(wrapped(engine, SUBKEY_SCOPE)) == key_id(new)


def test_rewrap_under_concurrent_key_creation_leaves_nothing_under_the_old_key(
        engine: Engine) -> None:
    old, new = os.urandom(32), os.urandom(32)
    with Session(engine) as s:
        vault = Vault(KeyRing(old, tables, engine), s)
        for i in range(300):
            vault.encrypt(f"net-{i:04d}", "t", "c", 1, "x")
    writer_ring = KeyRing(new, tables, engine, previous=[old])  # a restarted service
    stop = threading.Event()
    made: list[str] = []

    def write() -> None:
        with Session(engine) as s:
            vault = Vault(writer_ring, s)
            while not stop.is_set() or len(made) < 50:
                scope = f"new-{len(made):04d}"
                vault.encrypt(scope, "t", "c", 1, "y")
                made.append(scope)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        counts = KeyRing(new, tables, engine, previous=[old]).rewrap(batch=40)
    finally:
        stop.set()
        thread.join(timeout=120)
    assert counts["rewrapped"] >= 300
    with engine.connect() as conn:
        ids = {sealed_key_id(bytes(w)) for w in conn.execute(
            text("SELECT wrapped_key FROM data_keys WHERE wrapped_key IS NOT NULL")).scalars()}
    assert ids == {key_id(new)} and len(made) >= 50


def test_a_data_key_rotation_keeps_both_versions_until_the_old_one_retires(
        engine: Engine) -> None:
    ring = KeyRing(os.urandom(32), tables, engine)
    with Session(engine) as s:
        vault = Vault(ring, s)
        before = vault.encrypt("net-a", "t", "c", 1, "alice")
        controller = vault.encrypt("net-a/u1", "t", "c", 1, "bob")
        index = vault.blind_index("net-a", "email", "alice@example.org")
        assert ring.begin_rotation(s, "net-a") and not ring.begin_rotation(s, "net-a")
        s.commit()
        assert not vault.is_current("net-a", before)
        assert vault.decrypt("net-a", "t", "c", 1, before) == "alice"
        assert index in vault.blind_indexes("net-a", "email", "alice@example.org")
        after = vault.reseal_current("net-a", "t", "c", 1, before)
        assert after is not None and vault.is_current("net-a", after)
        s.commit()
    assert ring.rewrap(prefix="net-a/") == {"rewrapped": 1, "unchanged": 0}
    with Session(engine) as s:
        assert ring.retire_old_versions(s, "net-a") == 1
        s.commit()
    with Session(engine) as s:
        vault = Vault(KeyRing(ring._master, tables, engine), s)  # another process
        assert vault.decrypt("net-a", "t", "c", 1, after) == "alice"
        assert vault.decrypt("net-a/u1", "t", "c", 1, controller) == "bob"
        assert vault.blind_indexes("net-a", "email", "alice@example.org") != [index]
        with pytest.raises(UnknownKeyId):
            vault.decrypt("net-a", "t", "c", 1, before)


def test_previous_master_keys_come_from_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    from suivi_common.crypto import load_previous_master_keys
    a, b = os.urandom(32), os.urandom(32)
    monkeypatch.setenv("SUIVI_MASTER_KEYS_PREVIOUS",
                       f"{base64.b64encode(a).decode()}, {base64.b64encode(b).decode()},")
    assert load_previous_master_keys() == (a, b)
    monkeypatch.setenv("SUIVI_MASTER_KEYS_PREVIOUS", "")
    assert load_previous_master_keys() == ()
    monkeypatch.setenv("SUIVI_MASTER_KEYS_PREVIOUS", base64.b64encode(b"short").decode())
    with pytest.raises(RuntimeError, match="32 bytes"):
        load_previous_master_keys()
