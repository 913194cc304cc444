"""capture rate limits: requests per window, per capture key and per source address

Revision ID: f1a2b3c4d5e8
Revises: f1a2b3c4d5e7
Create Date: 2026-12-02 16:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'f1a2b3c4d5e8'
down_revision = 'f1a2b3c4d5e7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('capture_rate_windows',
                    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('subject', sa.String(length=80), nullable=False),
                    sa.Column('hits', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('window_start', 'subject'))


def downgrade() -> None:
    op.drop_table('capture_rate_windows')
