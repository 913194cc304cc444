"""Service-level tests: the use cases against real PostgreSQL, with accounts and leads
replaced by in-memory ports (no broker); see ``plans.testing.World``.

The database is ``plans_svc_test``, not the integration tests' one: a running plans
service relays its database's outbox, and these tests read the outbox themselves.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine

from plans.models import metadata
from plans.testing import MIGRATIONS, MONDAY, World, freeze_on
from suivi_common import clock
from suivi_common.testing import infra


@pytest.fixture(scope="session")
def svc_db_url() -> str:
    return infra.fresh_database("plans_svc", MIGRATIONS)


@pytest.fixture
def world(svc_db_url: str) -> Iterator[World]:
    infra.truncate_all(svc_db_url, metadata)
    engine = create_engine(svc_db_url)
    freeze_on(MONDAY)
    try:
        yield World(engine)
    finally:
        clock.reset()
        engine.dispose()
