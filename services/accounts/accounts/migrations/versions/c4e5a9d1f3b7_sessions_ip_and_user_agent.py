"""sessions remember their IP and user agent; email change links

A user lists their live sessions (``GET /api/me/sessions``) and revokes the ones they do
not recognise: each session keeps the address and the user agent of the login that opened
it, encrypted under the user's scope (NULL for the sessions opened before: shown as
unknown). An email change is a one-time link like a password link
(``password_tokens``, purpose ``email_change``) that holds the new address, encrypted.

Revision ID: c4e5a9d1f3b7
Revises: a7c31e05b2d4
Create Date: 2026-12-02 16:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'c4e5a9d1f3b7'
down_revision = 'a7c31e05b2d4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('sessions', sa.Column('ip', sa.LargeBinary(), nullable=True))
    op.add_column('sessions', sa.Column('user_agent', sa.LargeBinary(), nullable=True))
    op.add_column('password_tokens', sa.Column('new_email', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column('password_tokens', 'new_email')
    op.drop_column('sessions', 'user_agent')
    op.drop_column('sessions', 'ip')
