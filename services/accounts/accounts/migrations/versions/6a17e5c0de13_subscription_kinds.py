"""subscription kinds: an office subscription covers distribution, construction or both
(issue 13 §1)

Existing subscriptions were for the construction office, the only one sold before.

Revision ID: 6a17e5c0de13
Revises: 5a17e5c0de01
Create Date: 2026-12-03 16:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '6a17e5c0de13'
down_revision = '5a17e5c0de01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('subscriptions', sa.Column('kind', sa.String(length=20),
                                             server_default='construction', nullable=False))
    op.create_check_constraint(op.f('ck_subscriptions_kind'), 'subscriptions',
                               "kind IN ('distribution', 'construction', 'both')")


def downgrade() -> None:
    op.drop_constraint(op.f('ck_subscriptions_kind'), 'subscriptions', type_='check')
    op.drop_column('subscriptions', 'kind')
