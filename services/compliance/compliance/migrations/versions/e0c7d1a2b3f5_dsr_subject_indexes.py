"""data-subject requests: subject indexes (an erasure finds earlier requests by lookup)

Revision ID: e0c7d1a2b3f5
Revises: e0c7d1a2b3f4
Create Date: 2026-12-01 21:15:00

Back-fills every request whose subject is still held: decrypted under its own key
(``dsr:<id>``, unwrapped by the master key, as the service does) and hashed with the
subject-index key derived from the master key (``compliance.domain.subject``). The
master key is loaded only if there is something to back-fill.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.orm import Session


revision = 'e0c7d1a2b3f5'
down_revision = 'e0c7d1a2b3f4'
branch_labels = None
depends_on = None

BATCH = 500


def _backfill() -> None:
    bind = op.get_bind()
    todo = sa.text("SELECT id, email, phone FROM dsr_requests WHERE subject_shredded_at IS NULL"
                   " AND (email IS NOT NULL OR phone IS NOT NULL) AND email_index IS NULL"
                   " AND phone_index IS NULL AND id > CAST(:after AS uuid) ORDER BY id"
                   " LIMIT :n")
    first = bind.execute(todo, {"after": "00000000-0000-0000-0000-000000000000",
                                "n": 1}).first()
    if first is None:
        return
    from compliance.domain.subject import SUBJECT_INDEX_PURPOSE, subject_index
    from suivi_common.crypto import KeyDestroyed, KeyRing, Vault, load_master_key
    from suivi_common.tables import define_common_tables

    ring = KeyRing(load_master_key(), define_common_tables(sa.MetaData()))
    keys = {kind: ring.subkey(SUBJECT_INDEX_PURPOSE.format(kind=kind))
            for kind in ("email", "phone")}
    session = Session(bind=bind)
    vault = Vault(ring, session)
    after = "00000000-0000-0000-0000-000000000000"
    while rows := bind.execute(todo, {"after": after, "n": BATCH}).all():
        for row in rows:
            after = str(row.id)
            try:
                values = {kind: vault.decrypt(f"dsr:{row.id}", "dsr_requests", kind, row.id,
                                              getattr(row, kind)) for kind in keys}
            except KeyDestroyed:
                continue
            bind.execute(sa.text("UPDATE dsr_requests SET email_index = :e, phone_index = :p"
                                 " WHERE id = :id"),
                         {"id": row.id, "e": subject_index(keys["email"], values["email"]),
                          "p": subject_index(keys["phone"], values["phone"])})


def upgrade() -> None:
    op.add_column('dsr_requests', sa.Column('email_index', sa.String(length=64), nullable=True))
    op.add_column('dsr_requests', sa.Column('phone_index', sa.String(length=64), nullable=True))
    op.create_index('ix_dsr_requests_email_index', 'dsr_requests', ['email_index'], unique=False,
                    postgresql_where=sa.text('email_index IS NOT NULL'))
    op.create_index('ix_dsr_requests_phone_index', 'dsr_requests', ['phone_index'], unique=False,
                    postgresql_where=sa.text('phone_index IS NOT NULL'))
    _backfill()


def downgrade() -> None:
    op.drop_index('ix_dsr_requests_phone_index', table_name='dsr_requests')
    op.drop_index('ix_dsr_requests_email_index', table_name='dsr_requests')
    op.drop_column('dsr_requests', 'phone_index')
    op.drop_column('dsr_requests', 'email_index')
