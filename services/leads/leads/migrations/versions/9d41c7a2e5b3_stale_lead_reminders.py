"""stale lead reminders: monthly runs and the owners reminded

Revision ID: 9d41c7a2e5b3
Revises: 4820f65f9372
Create Date: 2026-12-01 17:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '9d41c7a2e5b3'
down_revision = '4820f65f9372'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stale_reminder_runs',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('inactive_since', sa.Date(), nullable=False),
    sa.Column('owners', sa.Integer(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('month')
    )
    op.create_table('stale_reminders',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('owner_id', sa.String(length=64), nullable=False),
    sa.Column('leads', sa.Integer(), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('month', 'owner_id')
    )


def downgrade() -> None:
    op.drop_table('stale_reminders')
    op.drop_table('stale_reminder_runs')
