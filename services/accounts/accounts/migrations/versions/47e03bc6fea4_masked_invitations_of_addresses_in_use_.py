"""masked invitations of addresses in use elsewhere

An admin inviting an address that has an account in another network gets the answers a
new address gets (issue 14 §2); the invitation is remembered here so that inviting it
again conflicts like a new address invited twice (``usecases.invitations``).

Revision ID: 47e03bc6fea4
Revises: 2c5599016686
Create Date: 2026-12-03 13:10:37.102509
"""
from alembic import op
import sqlalchemy as sa


revision = '47e03bc6fea4'
down_revision = '2c5599016686'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('masked_invitations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('network_id', sa.Uuid(), nullable=False),
    sa.Column('email_index', sa.LargeBinary(), nullable=False),
    sa.Column('email', sa.LargeBinary(), nullable=False),
    sa.Column('first_name', sa.LargeBinary(), nullable=True),
    sa.Column('last_name', sa.LargeBinary(), nullable=True),
    sa.Column('token_hash', sa.LargeBinary(), nullable=False),
    sa.Column('access_level_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['access_level_id'], ['access_levels.id'], name=op.f('fk_masked_invitations_access_level_id_access_levels'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['network_id'], ['networks.id'], name=op.f('fk_masked_invitations_network_id_networks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_masked_invitations')),
    sa.UniqueConstraint('network_id', 'email_index', name=op.f('uq_masked_invitations_network_id_email_index'))
    )


def downgrade() -> None:
    op.drop_table('masked_invitations')
