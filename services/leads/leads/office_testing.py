"""Helpers for the office's tests and benchmark (nothing here runs in production).

``Harness`` runs office use cases the way a nameko worker does (one session per call,
committed on success, rolled back on a refusal) against a database built by the leads
migrations, as production builds it (tables, indexes and the triggers that guard history
and initial records).
"""
from __future__ import annotations

import base64
import contextlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from leads.domain.capture import validate_capture
from leads.domain.history import ChangeSource
from leads.domain.refunds import LeadOrigin
from leads.models import capture_sites, common, deliveries, office_leads
from leads.models import leads as leads_table
from leads.testing import MIGRATIONS
from leads.usecases.capture import capture_batch
from leads.usecases.office import one_lead
from leads.usecases.office.context import Actor, OfficeCtx
from suivi_common import clock
from suivi_common.clock import PARIS
from suivi_common.crypto import PLATFORM_SCOPE, KeyRing, Vault
from suivi_common.migrations import ensure_database, upgrade
from suivi_common.testing import infra

# A fixed master key for test databases (never used outside tests and benchmarks).
TEST_MASTER_KEY = b"office-tests-master-key-32-bytes"
TEST_MASTER_KEY_B64 = base64.b64encode(TEST_MASTER_KEY).decode()
SITE_ID = uuid.UUID("00000000-0000-4000-8000-0000000000aa")


def migrated_database(url: str, fresh: bool = False) -> Engine:
    """The database at ``url`` upgraded to the leads migrations' head; rebuilt when
    ``fresh``, or when it was not built by the migrations (no ``alembic_version``)."""
    ensure_database(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        migrated = conn.execute(text("SELECT to_regclass('alembic_version')")).scalar()
    engine.dispose()
    if fresh or migrated is None:
        infra.recreate_database(url)
    upgrade(MIGRATIONS, url, create=False)
    return create_engine(url)


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment of the platform's day (Europe/Paris)."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


class SeparateCtx:
    """What a run over many owners (the retention sweep, the stale-lead reminder) uses of
    ``Ctx``: transactions of their own on ``engine``, and the events they emit."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.db = self
        self.events: list[tuple[str, dict[str, Any]]] = []

    @contextlib.contextmanager
    def separate(self) -> Iterator[Session]:
        with Session(self.engine) as session, session.begin():
            yield session

    def emit(self, event: str, payload: dict[str, Any], session: Any = None) -> None:
        self.events.append((event, dict(payload)))


def user(user_id: str, network_id: str = "net-1") -> Actor:
    return Actor(user_id, ChangeSource.USER, network_id)


class Harness:
    """Runs use cases like a worker: own session, commit on success, rollback on error; the
    time is ``clock.now()`` (tests freeze the clock)."""

    def __init__(self, engine: Engine, master_key: bytes = TEST_MASTER_KEY) -> None:
        self.engine = engine
        self.ring = KeyRing(master_key, common, engine)
        self.events: list[tuple[str, dict[str, Any]]] = []

    def run(self, fn: Callable[..., Any], *args: Any, actor: Actor | None = None,
            **kwargs: Any) -> Any:
        with Session(self.engine) as session:
            pending: list[tuple[str, dict[str, Any]]] = []
            ctx = OfficeCtx(session, Vault(self.ring, session), clock.now(),
                            lambda t, p: pending.append((t, dict(p))),
                            actor or Actor("system", ChangeSource.SYSTEM))
            try:
                result = fn(ctx, *args, **kwargs)
                session.commit()
            except BaseException:
                session.rollback()
                raise
            self.events.extend(pending)
            return result

    def session(self) -> Session:
        return Session(self.engine)

    def vault(self, session: Session) -> Vault:
        return Vault(self.ring, session)

    def events_of(self, event_type: str) -> list[dict[str, Any]]:
        return [p for t, p in self.events if t == event_type]


def raw_lead(i: int, **overrides: Any) -> dict[str, Any]:
    """A valid capture payload, unique per ``i`` (French mobile, e-mail, Paris)."""
    from leads import testing as leads_testing

    return leads_testing.raw_lead(i, tier="premium", **overrides)


def stored_lead(raw: Mapping[str, Any], now: datetime | None = None) -> dict[str, Any]:
    return validate_capture(raw, now or clock.now()).or_raise().as_dict()


def _capture_site(session: Session) -> None:
    """The capture site ``SITE_ID`` every test lead comes from."""
    session.execute(pg_insert(capture_sites).values(
        id=SITE_ID, name="Form", url="https://form.example.fr", key_hash="0" * 64,
        key_prefix="lck_test").on_conflict_do_nothing())


def capture(h: Harness, raw: dict[str, Any]) -> str:
    """A lead captured into stock, as the capture pipeline stores it; returns its id."""
    with h.session() as s:
        _capture_site(s)
        outcome = capture_batch(s, h.vault(s), SITE_ID, [raw], clock.now())
        s.commit()
    assert outcome.results[0]["status"] == "accepted", outcome.results
    return str(outcome.results[0]["id"])


def sell(session: Session, vault: Vault, *, owner_id: str, network_id: str, plan_id: str,
         raw: Mapping[str, Any], delivered_at: datetime, scope: str = PLATFORM_SCOPE,
         lead_id: uuid.UUID | None = None) -> dict[str, Any]:
    """What part 1 leaves behind when it sells a lead: a ``leads`` row (personal data under
    ``scope``) and its ``deliveries`` row. Returns the ``lead_delivered`` payload."""
    lead_id = lead_id or uuid.uuid4()
    data = stored_lead(raw, delivered_at)
    _capture_site(session)
    session.execute(leads_table.insert().values(
        id=lead_id, capture_site_id=SITE_ID, status="accepted", country=data["country"],
        tier="premium", captured_at=delivered_at, key_scope=scope,
        pii=vault.encrypt(scope, "leads", "pii", lead_id, json.dumps(data))))
    session.execute(deliveries.insert().values(
        lead_id=lead_id, plan_id=plan_id, user_id=owner_id, network_id=network_id,
        day=delivered_at.date(), delivered_at=delivered_at, via="take"))
    return {"lead_id": str(lead_id), "plan_id": plan_id, "user_id": owner_id,
            "network_id": network_id, "date": delivered_at.date().isoformat(),
            "delivered_at": delivered_at.isoformat()}


def deliver(h: Harness, *, owner_id: str, network_id: str = "net-1", plan_id: str = "plan-1",
            raw: Mapping[str, Any] | None = None, i: int = 0,
            delivered_at: datetime | None = None) -> str:
    """Sell a lead and let the office receive it (``lead_delivered``); returns its id."""
    when = delivered_at or clock.now()
    with h.session() as session:
        payload = sell(session, h.vault(session), owner_id=owner_id, network_id=network_id,
                       plan_id=plan_id, raw=raw or raw_lead(i), delivered_at=when)
        session.commit()
    h.run(one_lead.receive_delivery, payload)
    return payload["lead_id"]


def bulk_rows(vault: Vault, *, owner_id: str, network_id: str,
              items: Iterable[tuple[Mapping[str, Any], str, str, datetime, str | None]]
              ) -> list[dict[str, Any]]:
    """Office rows ready for one multi-row insert: (stored data, origin, status, created_at,
    plan_id) each, encrypted exactly as the use cases do."""
    rows = []
    for data, origin, status, created_at, plan_id in items:
        lead_id = uuid.uuid4()
        purchased = origin == LeadOrigin.PURCHASED
        rows.append({"id": lead_id, "owner_id": owner_id, "network_id": network_id,
                     "origin": origin, "plan_id": plan_id,
                     "plan_country": data.get("country") if purchased else None,
                     "status": status, "created_at": created_at,
                     "delivered_at": created_at if purchased else None,
                     "updated_at": created_at, "erased_at": None, "deleted_at": None,
                     "deleted_by": None, "emails_sent": 0, "last_emailed_at": None,
                     **one_lead.encrypted_columns(vault, network_id, lead_id, data)})
    return rows


def insert_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(office_leads.insert(), rows)


def export_builds(engine: Engine, owner_id: str) -> int:
    """How many exports of ``owner_id`` hold their slot right now (granted advisory locks on
    its key, whatever the instance): a race test waits on it instead of on time."""
    from leads.usecases.office.export import lock_key

    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_locks, (SELECT hashtextextended(:key, 0) AS k) AS h"
            " WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND classid::bigint = ((h.k >> 32) & 4294967295)"
            " AND objid::bigint = (h.k & 4294967295)"), {"key": lock_key(owner_id)}).scalar_one())


@contextlib.contextmanager
def office_leads_held(engine: Engine) -> Iterator[None]:
    """Hold ``office_leads`` (ACCESS EXCLUSIVE) while the block runs: an export that has
    taken its slot then waits on its first read of the leads, in flight for sure."""
    with engine.connect() as conn, conn.begin():
        conn.execute(text("LOCK TABLE office_leads IN ACCESS EXCLUSIVE MODE"))
        yield
