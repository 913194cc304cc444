"""``python -m tools.newrev <service> "message"``: autogenerate an Alembic revision for a
service against a scratch database migrated to head (never against live data).

The cluster is the one the shell names, as for the tests: ``SUIVI_PG_BASE``, else
``PGHOST``/``PGPORT`` (``tools.infra``; 127.0.0.1:5432 when neither is set), so a scratch
database never lands on another cluster of a shared machine."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import psycopg
from alembic import command

from suivi_common.migrations import alembic_config, ensure_database, upgrade
from tools.infra import PG

ROOT = Path(__file__).resolve().parent.parent


def pg_base() -> str:
    """The cluster's SQLAlchemy URL, without a database."""
    return os.environ.get("SUIVI_PG_BASE") or f"postgresql+psycopg://postgres@{PG[0]}:{PG[1]}"


def main(service: str, message: str) -> None:
    base = pg_base()
    url = f"{base}/{service}_autogen"
    admin = f"{base.replace('postgresql+psycopg://', 'postgresql://')}/postgres"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{service}_autogen"')
    ensure_database(url)
    migrations = ROOT / "services" / service / service / "migrations"
    upgrade(migrations, url, create=False)
    command.revision(alembic_config(migrations, url), message=message, autogenerate=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
