"""``python -m tools.newrev <service> "message"``: autogenerate an Alembic revision for a
service against a scratch database migrated to head (never against live data)."""
from __future__ import annotations

import sys
from pathlib import Path

import psycopg
from alembic import command

from suivi_common.migrations import alembic_config, ensure_database, upgrade

ROOT = Path(__file__).resolve().parent.parent


def main(service: str, message: str) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{service}_autogen"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{service}_autogen"')
    ensure_database(url)
    migrations = ROOT / "services" / service / service / "migrations"
    upgrade(migrations, url, create=False)
    command.revision(alembic_config(migrations, url), message=message, autogenerate=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
