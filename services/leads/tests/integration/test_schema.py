"""The migrations and the table metadata describe one schema.

Every database is built by the migrations (production, the tests, the benchmarks), while
the code reads and writes through ``leads.models``: a column, index or default present on
one side only would pass the tests built on the other. Alembic's autogenerate, run
against a freshly migrated database, must find nothing to do.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, text

from leads import testing
from leads.models import metadata
from suivi_common.testing import infra


def schema_diff(service: str, migrations: Path, target: MetaData) -> list[Any]:
    """What ``alembic revision --autogenerate`` would write for ``target`` against a new
    database migrated to head (types and server defaults compared too); [] when they agree."""
    url = infra.fresh_database(f"{service}_schema", migrations)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True, "compare_server_default": True})
            return list(compare_metadata(context, target))
    finally:
        engine.dispose()


def test_the_migrations_build_the_schema_the_models_describe() -> None:
    assert schema_diff("leads", testing.MIGRATIONS, metadata) == []


def test_the_office_guards_come_from_the_migrations() -> None:
    """The triggers live only in migration 88d43bef22d8; a migrated database has them."""
    engine = create_engine(infra.fresh_database("leads_schema", testing.MIGRATIONS))
    try:
        with engine.connect() as conn:
            names = set(conn.execute(text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
    finally:
        engine.dispose()
    assert names == {"office_history_append_only", "office_leads_guard"}
