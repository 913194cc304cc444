"""end of contract

Revision ID: e0c7d1a2b3f4
Revises: dec685667594
Create Date: 2026-12-01 21:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = 'e0c7d1a2b3f4'
down_revision = 'dec685667594'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'end_of_contracts',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('requested_by', sa.String(length=64), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reports', postgresql.JSONB(astext_type=sa.Text()), server_default='{}',
                  nullable=False),
        sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('archive', sa.LargeBinary(), nullable=True),
        sa.Column('archive_filename', sa.String(length=200), nullable=True),
        sa.Column('archive_size', sa.Integer(), nullable=True),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('shred_requested_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('shred_reports', postgresql.JSONB(astext_type=sa.Text()), server_default='{}',
                  nullable=False),
        sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('certificate', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id'))
    op.create_index(op.f('ix_end_of_contracts_status'), 'end_of_contracts', ['status'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_end_of_contracts_status'), table_name='end_of_contracts')
    op.drop_table('end_of_contracts')
