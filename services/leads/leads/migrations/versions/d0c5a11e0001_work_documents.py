"""work documents: office_documents (sealed under the owner's key), office_document_usage

Revision ID: d0c5a11e0001
Revises: e0c1a2b3c4d6
Create Date: 2026-12-02 02:50:00

Terms art. 3.A: the office hosts and backs up "documents de travail". One row per
document, its name and content sealed under the owner's controller key; one row per office
with the bytes its documents hold, which a conditional UPDATE takes the quota from.
"""
from alembic import op
import sqlalchemy as sa


revision = 'd0c5a11e0001'
down_revision = 'e0c1a2b3c4d6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'office_documents',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('owner_id', sa.String(length=64), nullable=False),
        sa.Column('network_id', sa.String(length=64), nullable=False),
        sa.Column('key_scope', sa.String(length=140), nullable=False),
        sa.Column('name', sa.LargeBinary(), nullable=False),
        sa.Column('family', sa.String(length=10), nullable=False),
        sa.Column('content_type', sa.String(length=120), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('doc_key', sa.LargeBinary(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('shared_with_network', sa.Boolean(), server_default=sa.text('false'),
                  nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_office_documents_owner', 'office_documents',
                    ['owner_id', 'created_at', 'id'], unique=False)
    op.create_table(
        'office_document_usage',
        sa.Column('owner_id', sa.String(length=64), nullable=False),
        sa.Column('bytes_used', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
        sa.PrimaryKeyConstraint('owner_id'),
    )


def downgrade() -> None:
    op.drop_table('office_document_usage')
    op.drop_index('ix_office_documents_owner', table_name='office_documents')
    op.drop_table('office_documents')
