"""The subject-index migration back-fills the requests written before it: each one whose
subject is still held gets the HMACs an erasure looks its person up by."""
from __future__ import annotations

import base64
import os
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

import compliance
from compliance.domain.subject import SUBJECT_INDEX_PURPOSE, subject_index
from compliance.models import common
from suivi_common.crypto import KeyRing, Vault
from suivi_common.migrations import alembic_config
from suivi_common.testing import infra

MIGRATIONS = Path(compliance.__file__).parent / "migrations"
BEFORE = "e0c7d1a2b3f4"
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_the_migration_back_fills_the_subject_indexes(monkeypatch: pytest.MonkeyPatch) -> None:
    master = os.urandom(32)
    monkeypatch.setenv("SUIVI_MASTER_KEY", base64.b64encode(master).decode())
    url = infra.test_db_url("compliance_backfill")
    infra.recreate_database(url)
    command.upgrade(alembic_config(MIGRATIONS, url), BEFORE)
    engine = create_engine(url)
    ring = KeyRing(master, common, engine)
    people = {uuid.uuid4(): ("ana@example.fr", "+33612345678"),
              uuid.uuid4(): ("bob@example.fr", None),
              uuid.uuid4(): (None, None)}  # shredded already: nothing to index
    try:
        with Session(engine) as session:
            vault = Vault(ring, session)
            for rid, (email, phone) in people.items():
                session.execute(text(
                    "INSERT INTO dsr_requests (id, kind, status, received_at, due_on, email, "
                    "phone, has_email, has_phone, created_by, created_at, updated_at, "
                    "subject_shredded_at) VALUES (:id, 'objection', 'completed', :now, :due, "
                    ":email, :phone, :he, :hp, 'staff', :now, :now, :shredded)"),
                    {"id": rid, "now": NOW, "due": date(2027, 1, 1), "he": email is not None,
                     "hp": phone is not None,
                     "email": vault.encrypt(f"dsr:{rid}", "dsr_requests", "email", rid, email),
                     "phone": vault.encrypt(f"dsr:{rid}", "dsr_requests", "phone", rid, phone),
                     "shredded": None if email else NOW})
            session.commit()
        command.upgrade(alembic_config(MIGRATIONS, url), "head")
        with engine.connect() as conn:
            got = {r.id: (r.email_index, r.phone_index) for r in conn.execute(text(
                "SELECT id, email_index, phone_index FROM dsr_requests"))}
    finally:
        engine.dispose()
    keys = {kind: ring.subkey(SUBJECT_INDEX_PURPOSE.format(kind=kind))
            for kind in ("email", "phone")}
    assert got == {rid: (subject_index(keys["email"], email), subject_index(keys["phone"], phone))
                   for rid, (email, phone) in people.items()}
