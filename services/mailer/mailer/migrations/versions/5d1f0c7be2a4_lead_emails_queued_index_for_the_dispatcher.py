"""lead_emails: index of queued rows by due_at, for the batched dispatcher's claim

Revision ID: 5d1f0c7be2a4
Revises: 27820a58e951
Create Date: 2026-12-01 21:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '5d1f0c7be2a4'
down_revision = '27820a58e951'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_lead_emails_queued', 'lead_emails', ['due_at'], unique=False,
                    postgresql_where=sa.text("status = 'queued'"))


def downgrade() -> None:
    op.drop_index('ix_lead_emails_queued', table_name='lead_emails',
                  postgresql_where=sa.text("status = 'queued'"))
