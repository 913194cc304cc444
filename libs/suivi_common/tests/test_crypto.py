"""Envelope encryption against a real database: AAD binding, per-network keys,
blind indexes and crypto-shredding."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import MetaData
from sqlalchemy.orm import Session

from suivi_common.crypto import KeyDestroyed, KeyRing, Vault, load_master_key
from suivi_common.tables import define_common_tables
from suivi_common.testing import infra

metadata = MetaData()
tables = define_common_tables(metadata)
URL = infra.test_db_url("common_crypto")


@pytest.fixture
def session() -> Iterator[Session]:
    with infra.schema_engine(URL, metadata) as engine, Session(engine) as s:
        yield s


@pytest.fixture
def vault(session: Session) -> Vault:
    return Vault(KeyRing(os.urandom(32), tables), session)


def test_round_trip_and_ciphertext_is_not_plaintext(vault: Vault) -> None:
    row = uuid.uuid4()
    blob = vault.encrypt("net-a", "users", "email", row, "alice@example.org")
    assert blob is not None and b"alice" not in blob
    assert vault.decrypt("net-a", "users", "email", row, blob) == "alice@example.org"
    assert vault.encrypt("net-a", "users", "email", row, None) is None


def test_ciphertext_is_bound_to_table_column_and_row(vault: Vault) -> None:
    row, other = uuid.uuid4(), uuid.uuid4()
    blob = vault.encrypt("net-a", "users", "email", row, "alice@example.org")
    for args in (("users", "email", other), ("users", "phone", row), ("leads", "email", row)):
        with pytest.raises(InvalidTag):
            vault.decrypt("net-a", *args, blob)


def test_each_network_has_its_own_key(vault: Vault) -> None:
    row = uuid.uuid4()
    blob = vault.encrypt("net-a", "users", "email", row, "x")
    vault.encrypt("net-b", "users", "email", row, "y")  # creates net-b's key
    with pytest.raises(InvalidTag):
        vault.decrypt("net-b", "users", "email", row, blob)


def test_blind_index_is_deterministic_per_scope_and_kind(vault: Vault) -> None:
    a1 = vault.blind_index("net-a", "email", "alice@example.org")
    assert a1 == vault.blind_index("net-a", "email", "alice@example.org")
    assert a1 != vault.blind_index("net-b", "email", "alice@example.org")
    assert a1 != vault.blind_index("net-a", "phone", "alice@example.org")
    assert a1 != vault.blind_index("net-a", "email", "bob@example.org")


def test_destroying_a_network_key_shreds_its_data(session: Session) -> None:
    ring = KeyRing(os.urandom(32), tables)
    vault = Vault(ring, session)
    row = uuid.uuid4()
    blob = vault.encrypt("net-a", "users", "email", row, "alice@example.org")
    keep = vault.encrypt("net-b", "users", "email", row, "bob@example.org")
    vault.destroy("net-a")
    session.commit()
    fresh = Vault(KeyRing(ring._master, tables), session)  # another process, empty cache
    with pytest.raises(KeyDestroyed):
        fresh.decrypt("net-a", "users", "email", row, blob)
    with pytest.raises(KeyDestroyed):
        fresh.encrypt("net-a", "users", "email", row, "new data")  # no silent re-creation
    with pytest.raises(KeyDestroyed):
        fresh.blind_index("net-a", "email", "alice@example.org")
    assert fresh.decrypt("net-b", "users", "email", row, keep) == "bob@example.org"


def test_wrong_master_key_cannot_unwrap(session: Session) -> None:
    Vault(KeyRing(os.urandom(32), tables), session).encrypt("net-a", "t", "c", 1, "secret")
    session.commit()
    with pytest.raises(InvalidTag):
        Vault(KeyRing(os.urandom(32), tables), session).encrypt("net-a", "t", "c", 1, "x")


def test_dev_master_key_is_generated_once(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the environment speaks here: nameko config that an earlier test of the same
    process left installed (``SUIVI_MASTER_KEY``, ``SUIVI_ENV``) would otherwise win."""
    from nameko import config
    path = f"{tmp_path}/master.key"
    monkeypatch.setenv("SUIVI_MASTER_KEY_FILE", path)
    monkeypatch.delenv("SUIVI_MASTER_KEY", raising=False)
    monkeypatch.setenv("SUIVI_ENV", "dev")
    with config.patch({}, clear=True):
        first = load_master_key()
        assert len(first) == 32 and load_master_key() == first
        monkeypatch.setenv("SUIVI_ENV", "prod")
        monkeypatch.setenv("SUIVI_MASTER_KEY_FILE", f"{tmp_path}/other.key")
        with pytest.raises(RuntimeError):
            load_master_key()


# --- controller keys (annex IV.12): one per user, wrapped by the network's key ----------------

def test_controller_scope_names_its_network_and_fits_the_key_table() -> None:
    from suivi_common.crypto import MAX_SCOPE, controller_scope, controller_tag, parent_scope
    network, user = str(uuid.uuid4()), str(uuid.uuid4())
    scope = controller_scope(network, user)
    assert scope == f"{network}/{controller_tag(user)}" and len(scope) <= MAX_SCOPE
    assert parent_scope(scope) == network and parent_scope(network) is None
    assert controller_scope(network, user) == scope  # deterministic
    assert controller_scope(network, str(uuid.uuid4())) != scope
    with pytest.raises(ValueError):
        controller_scope("net/a", "u1")


def test_a_controller_key_is_wrapped_by_its_network_key(session: Session) -> None:
    from suivi_common.crypto import controller_scope
    ring = KeyRing(os.urandom(32), tables)
    scope = controller_scope("net-a", "u1")
    blob = Vault(ring, session).encrypt(scope, "t", "c", 1, "secret")
    wrapped = {r.scope: r.wrapped_key for r in session.execute(
        tables.data_keys.select()).all()}
    assert set(wrapped) == {"net-a", scope}  # the network key came first, to wrap it
    fresh = Vault(KeyRing(ring._master, tables), session)
    assert fresh.decrypt(scope, "t", "c", 1, blob) == "secret"
    # the master key alone does not unwrap a controller's key: the network's does
    from suivi_common.crypto import open_sealed
    with pytest.raises(InvalidTag):
        open_sealed(ring._master, bytes(wrapped[scope]), f"data-key:{scope}".encode())


def test_shredding_one_controller_leaves_the_others(session: Session) -> None:
    ring = KeyRing(os.urandom(32), tables)
    vault = Vault(ring, session)
    mine = vault.encrypt("net-a/u1", "t", "c", 1, "mine")
    theirs = vault.encrypt("net-a/u2", "t", "c", 1, "theirs")
    network = vault.encrypt("net-a", "t", "c", 1, "network")
    vault.destroy("net-a/u1")
    fresh = Vault(KeyRing(ring._master, tables), session)
    with pytest.raises(KeyDestroyed):
        fresh.decrypt("net-a/u1", "t", "c", 1, mine)
    with pytest.raises(KeyDestroyed):  # never re-created by a later write
        fresh.encrypt("net-a/u1", "t", "c", 1, "again")
    assert fresh.decrypt("net-a/u2", "t", "c", 1, theirs) == "theirs"
    assert fresh.decrypt("net-a", "t", "c", 1, network) == "network"


def test_shredding_a_network_takes_its_controllers_along(session: Session) -> None:
    ring = KeyRing(os.urandom(32), tables)
    blob = Vault(ring, session).encrypt("net-a/u1", "t", "c", 1, "mine")
    Vault(ring, session).destroy("net-a")
    with pytest.raises(KeyDestroyed):
        Vault(KeyRing(ring._master, tables), session).decrypt("net-a/u1", "t", "c", 1, blob)


def test_destroy_controller_shreds_each_of_their_keys_once_and_names_them(
        session: Session) -> None:
    from sqlalchemy import select

    from suivi_common.crypto import controller_scope, key_fingerprint
    ring = KeyRing(os.urandom(32), tables)
    vault = Vault(ring, session)
    in_a, in_b = controller_scope("net-a", "u1"), controller_scope("net-b", "u1")
    blobs = {s: vault.encrypt(s, "t", "c", 1, s) for s in (in_a, in_b)}
    other = vault.encrypt(controller_scope("net-a", "u2"), "t", "c", 1, "theirs")
    wrapped = dict(session.execute(select(tables.data_keys.c.scope,
                                          tables.data_keys.c.wrapped_key)).all())
    # net-b is not named: found in the key table by the user's tag all the same
    keys = vault.destroy_controller("u1", ["net-a", "net-c", ""])
    assert keys == [{"scope": s, "key_id": key_fingerprint(s, wrapped[s])}
                    for s in sorted((in_a, in_b))]
    fresh = Vault(KeyRing(ring._master, tables), session)
    for scope, blob in blobs.items():
        with pytest.raises(KeyDestroyed):
            fresh.decrypt(scope, "t", "c", 1, blob)
    with pytest.raises(KeyDestroyed):  # net-c had no key: refused from now on too
        fresh.encrypt(controller_scope("net-c", "u1"), "t", "c", 1, "later")
    assert fresh.decrypt(controller_scope("net-a", "u2"), "t", "c", 1, other) == "theirs"
    assert vault.destroy_controller("u1", ["net-a"]) == []  # a repeat names none


def test_reseal_moves_a_value_to_another_key(vault: Vault) -> None:
    old = vault.encrypt("net-a", "t", "c", 1, "valeur")
    new = vault.reseal("net-a", "net-a/u1", "t", "c", 1, old)
    assert new is not None and vault.decrypt("net-a/u1", "t", "c", 1, new) == "valeur"
    with pytest.raises(InvalidTag):
        vault.decrypt("net-a", "t", "c", 1, new)
    assert vault.reseal("net-a", "net-a/u1", "t", "c", 1, None) is None


def test_key_fingerprint_names_a_wrapped_key_without_revealing_it() -> None:
    from suivi_common.crypto import key_fingerprint
    a = key_fingerprint("net-a/u1", b"wrapped")
    assert a == key_fingerprint("net-a/u1", b"wrapped") and len(a) == 32
    assert a != key_fingerprint("net-a/u2", b"wrapped")


def test_preload_unwraps_many_keys_at_once_and_skips_shredded_ones(session: Session) -> None:
    ring = KeyRing(os.urandom(32), tables)
    vault = Vault(ring, session)
    blobs = {s: vault.encrypt(s, "t", "c", 1, s) for s in ("net-a/u1", "net-a/u2", "net-b")}
    vault.destroy("net-a/u2")
    cold = KeyRing(ring._master, tables)
    cold.preload(session, ["net-a/u1", "net-a/u2", "net-b", "never-made"])
    assert set(cold._cache) == {"net-a", "net-a/u1", "net-b"}
    fresh = Vault(cold, session)
    assert fresh.decrypt("net-a/u1", "t", "c", 1, blobs["net-a/u1"]) == "net-a/u1"
    with pytest.raises(KeyDestroyed):
        fresh.decrypt("net-a/u2", "t", "c", 1, blobs["net-a/u2"])
