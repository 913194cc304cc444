"""The migrations build exactly the tables ``compliance.models`` declares."""
from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from compliance.models import metadata


def test_migrations_and_metadata_agree(h: Any) -> None:
    with h.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(
            conn, opts={"compare_type": True}), metadata)
    assert diff == []
