"""The claim's lease is counted from the moment the claim runs, not from a moment read
before a wait for a connection: a lease short by that wait is released at once, and the
email sent twice more (seen when the clock moved while a dispatcher tick waited)."""
from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import create_engine, event, insert, select

from mailer.models import lead_emails
from mailer.usecases.context import Ctx
from mailer.usecases.sending import QUEUED, SENDING, claim, release_due
from suivi_common import clock

LEASE = 300.0
WAIT = timedelta(hours=1)  # how far the clock moves while the claim waits for its connection


def _queued(engine: Any) -> uuid.UUID:
    eid, now = uuid.uuid4(), clock.now()
    with engine.begin() as conn:
        conn.execute(insert(lead_emails).values(
            id=eid, lead_id=uuid.uuid4(), owner_id="u-1", network_id="n-1",
            origin="office", status=QUEUED, due_at=now, created_at=now, subject=b"s"))
    return eid


def test_a_claim_that_waited_for_its_connection_leases_from_when_it_ran(clean_db: str) -> None:
    engine = create_engine(clean_db, pool_size=1, max_overflow=0)
    try:
        eid = _queued(engine)
        moved: list[bool] = []

        @event.listens_for(engine, "checkout")
        def _the_clock_moves_while_waiting(*_: Any) -> None:
            if not moved:
                moved.append(True)
                clock.advance(WAIT)

        ctx = Ctx(session=None, vault=None, emit=None, principal=None,
                  db=SimpleNamespace(wake_relay=lambda: None), side_engine=engine)
        ctx._settings = SimpleNamespace(lease_seconds=LEASE)  # type: ignore[assignment]
        [row] = claim(ctx, 10)
        assert moved and row.id == eid and row.status == SENDING
        assert row.lease_until >= clock.now() + timedelta(seconds=LEASE - 60)
        with engine.begin() as conn:
            ctx.session = conn  # type: ignore[assignment]
            assert release_due(ctx) == 0  # the fresh claim is not taken for a dead one
            status = conn.execute(select(lead_emails.c.status)).scalar_one()
        assert status == SENDING
    finally:
        clock.reset()
        engine.dispose()
