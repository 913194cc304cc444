"""lead_emails under each owner's controller key; controller_shreds (the end of contract)

Revision ID: c4e7a1d29b30
Revises: 5d1f0c7be2a4
Create Date: 2026-12-02 06:20:00.000000

``key_scope`` is added empty: None reads as the network's key, as every row was written
until now, so the migration is instant and the service keeps reading everything; the
re-keying (``usecases.controller_keys``, a timer in batches) then moves each row to its
owner's key. The partial index lists what is left to move.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = 'c4e7a1d29b30'
down_revision = '5d1f0c7be2a4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('lead_emails', sa.Column('key_scope', sa.String(length=140), nullable=True))
    op.create_index('ix_lead_emails_legacy_key', 'lead_emails', ['owner_id', 'id'],
                    unique=False,
                    postgresql_where=sa.text('key_scope IS NULL AND to_address IS NOT NULL'))
    op.create_table(
        'controller_shreds',
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('contract_id', sa.String(length=64), nullable=False),
        sa.Column('shredded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('counts', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('keys', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint('user_id'))


def downgrade() -> None:
    op.drop_table('controller_shreds')
    op.drop_index('ix_lead_emails_legacy_key', table_name='lead_emails',
                  postgresql_where=sa.text('key_scope IS NULL AND to_address IS NOT NULL'))
    op.drop_column('lead_emails', 'key_scope')
