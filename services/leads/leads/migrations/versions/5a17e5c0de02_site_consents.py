"""site consents: what a visitor of a member's site consented to (issue 13 §2)

Revision ID: 5a17e5c0de02
Revises: 57e570e48f5d
Create Date: 2026-12-03 13:25:00
"""
from alembic import op
import sqlalchemy as sa


revision = '5a17e5c0de02'
down_revision = '57e570e48f5d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'site_consents',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('lead_id', sa.Uuid(), nullable=False),
        sa.Column('owner_id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('page_id', sa.String(length=64), nullable=False),
        sa.Column('notice_version', sa.String(length=40), nullable=False),
        sa.Column('notice_text', sa.Text(), nullable=False),
        sa.Column('source_url', sa.String(length=2048), nullable=False),
        sa.Column('duplicate', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('consented_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['lead_id'], ['office_leads.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_site_consents_lead', 'site_consents', ['lead_id', 'consented_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_site_consents_lead', table_name='site_consents')
    op.drop_table('site_consents')
