"""plan kinds: a plan buys one office kind (issue 13 §1)

Existing plans bought construction leads, the only kind sold before; their state JSON
has no ``kind`` and reads as construction too.

Revision ID: 6a17e5c0de15
Revises: 59036fa73846
Create Date: 2026-12-03 16:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '6a17e5c0de15'
down_revision = '59036fa73846'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('plans', sa.Column('kind', sa.String(length=20),
                                     server_default='construction', nullable=False))


def downgrade() -> None:
    op.drop_column('plans', 'kind')
