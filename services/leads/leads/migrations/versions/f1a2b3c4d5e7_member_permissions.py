"""members' take_leads permission, as accounts announces it (auto-delivery honours it)

Revision ID: f1a2b3c4d5e7
Revises: f1a2b3c4d5e6
Create Date: 2026-12-02 03:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = 'f1a2b3c4d5e7'
down_revision = 'f1a2b3c4d5e6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('member_permissions',
                    sa.Column('user_id', sa.String(length=64), nullable=False),
                    sa.Column('take_leads', sa.Boolean(), nullable=False),
                    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('user_id'))


def downgrade() -> None:
    op.drop_table('member_permissions')
