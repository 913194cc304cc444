"""the retention sweep's pick: an index of the rows that still hold data, per owner

Revision ID: e0c1a2b3c4d6
Revises: e0c1a2b3c4d5
Create Date: 2026-12-01 21:10:00

Every owner index of office_leads is partial on ``deleted_at IS NULL``, while the sweep
(and the end of contract) must also wipe deleted rows that still hold data: its pick
matched none of them and scanned the owners' rows at each batch.
"""
from alembic import op
import sqlalchemy as sa


revision = 'e0c1a2b3c4d6'
down_revision = 'e0c1a2b3c4d5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_office_owner_holding', 'office_leads', ['owner_id', 'id'], unique=False,
                    postgresql_where=sa.text('data IS NOT NULL OR lead_key IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_office_owner_holding', table_name='office_leads')
