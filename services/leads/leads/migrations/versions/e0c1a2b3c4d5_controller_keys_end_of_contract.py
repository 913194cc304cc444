"""controller keys (office data under each owner's key) and the end of contract

Revision ID: e0c1a2b3c4d5
Revises: 9d41c7a2e5b3
Create Date: 2026-12-01 20:50:00

``key_scope`` is added empty: None reads as the network's key, as every row was written
until now, so the migration is instant and the service keeps reading everything; the
re-keying (``usecases.office.controller_keys``, a timer in batches) then moves each row
to its owner's key. The partial index lists what is left to move.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = 'e0c1a2b3c4d5'
down_revision = '9d41c7a2e5b3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('office_leads', sa.Column('key_scope', sa.String(length=140), nullable=True))
    op.add_column('refund_claims', sa.Column('key_scope', sa.String(length=140), nullable=True))
    op.add_column('office_exports', sa.Column('key_scope', sa.String(length=140), nullable=True))
    op.create_index('ix_office_legacy_key', 'office_leads', ['owner_id', 'id'], unique=False,
                    postgresql_where=sa.text(
                        'key_scope IS NULL AND (data IS NOT NULL OR lead_key IS NOT NULL)'))
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
    op.drop_index('ix_office_legacy_key', table_name='office_leads')
    op.drop_column('office_exports', 'key_scope')
    op.drop_column('refund_claims', 'key_scope')
    op.drop_column('office_leads', 'key_scope')
