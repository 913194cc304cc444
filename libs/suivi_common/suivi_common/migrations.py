"""Per-service Alembic plumbing: each service keeps its own revisions; this runs them.

A service's ``migrations/env.py`` is two lines: ``from suivi_common.migrations import
run_env`` and ``run_env(metadata)``. ``python -m <service>.migrate`` creates the
service's database if missing and upgrades it to head.
"""
from __future__ import annotations

import os
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import make_url


def ensure_database(url: str) -> None:
    """Create the database named in ``url`` if it does not exist yet."""
    parsed = make_url(url)
    admin = parsed.set(database="postgres", drivername="postgresql")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (parsed.database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{parsed.database}"')


def alembic_config(migrations_dir: Path, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(migrations_dir: Path, url: str, create: bool = True) -> None:
    if create:
        ensure_database(url)
    command.upgrade(alembic_config(migrations_dir, url), "head")


def main_for(migrations_dir: Path, default_url: str) -> None:
    url = os.environ.get("DATABASE_URL", default_url)
    upgrade(migrations_dir, url)
    print(f"migrated {make_url(url).database}")


def run_env(metadata: MetaData) -> None:
    """Body of a service's alembic env.py (online mode only: we always have a DB)."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic: sqlalchemy.url is not set")
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
