"""The accounts migrations: they build the tables ``accounts.models`` declares, and the
access-level migration keeps every existing member's rights (nothing checked levels
before it, so everyone could do everything)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import accounts
from accounts.models import metadata
from suivi_common.migrations import alembic_config
from suivi_common.permissions import ALL
from suivi_common.testing import infra

MIGRATIONS = Path(accounts.__file__).parent / "migrations"
BEFORE_LEVELS = "efd7c340bb0c"


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    url = infra.test_db_url("accounts_migration")
    infra.recreate_database(url)
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


def test_migrations_and_metadata_agree(engine: sa.Engine) -> None:
    command.upgrade(alembic_config(MIGRATIONS, engine.url.render_as_string(False)), "head")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                metadata)
    assert diff == []


def test_existing_networks_and_levels_keep_every_right(engine: sa.Engine) -> None:
    cfg = alembic_config(MIGRATIONS, engine.url.render_as_string(False))
    command.upgrade(cfg, BEFORE_LEVELS)
    net, bare, level, on_level, loose = (uuid.uuid4() for _ in range(5))
    with engine.begin() as conn:
        for nid, name in ((net, "Réseau"), (bare, "Nu")):
            conn.execute(sa.text(
                "INSERT INTO networks (id, name, name_key, created_at, updated_at) "
                "VALUES (:id, :name, :key, now(), now())"),
                {"id": nid, "name": name, "key": name.lower()})
        conn.execute(sa.text(
            "INSERT INTO access_levels (id, network_id, name, permissions, created_at) "
            "VALUES (:id, :net, 'Accès complet', '[\"office.read\"]', now())"),
            {"id": level, "net": net})
        for uid, lid in ((on_level, level), (loose, None)):
            conn.execute(sa.text(
                "INSERT INTO users (id, network_id, role, status, email_index, email, "
                "access_level_id, created_at) VALUES (:id, :net, 'user', 'active', :ix, "
                "'x', :level, now())"),
                {"id": uid, "net": net, "ix": uid.bytes, "level": lid})
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        levels = conn.execute(sa.text(
            "SELECT network_id, name, permissions, is_default FROM access_levels "
            "ORDER BY network_id, is_default")).all()
        holders = dict(conn.execute(sa.text("SELECT id, access_level_id FROM users")).all())
    assert all(sorted(row.permissions) == list(ALL) for row in levels)
    defaults = {row.network_id: row.name for row in levels if row.is_default}
    # one default level per network, named apart from a level already called so
    assert defaults == {net: "Accès complet (par défaut)", bare: "Accès complet"}
    assert holders == {on_level: level, loose: None}  # None: the default level
