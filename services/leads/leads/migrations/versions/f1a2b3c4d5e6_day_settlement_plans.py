"""the plans each day settlement covered: a plan that reaches leads after its day was
settled is settled late (domain.shortfall, point 7), not frozen as all forfeit

Revision ID: f1a2b3c4d5e6
Revises: d0c5a11e0001
Create Date: 2026-12-02 03:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'f1a2b3c4d5e6'
down_revision = 'd0c5a11e0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('day_settlements', sa.Column('plan_ids', sa.ARRAY(sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column('day_settlements', 'plan_ids')
