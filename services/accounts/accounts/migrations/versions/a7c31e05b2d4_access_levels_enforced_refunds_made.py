"""access levels enforced, refunds made

Access levels now hold names of the fixed list (``suivi_common.permissions``) and each
network has one default level (``is_default``) that members without a level hold. Nothing
checked a level before, so every member had every right: existing levels are granted every
permission and each existing network gets a default level granting everything, so nobody
loses a right they used (admins narrow levels afterwards). Payments record the refund made:
when, by whom, under which reference.

Revision ID: a7c31e05b2d4
Revises: efd7c340bb0c
Create Date: 2026-12-01 20:40:00
"""
import json

import sqlalchemy as sa
from alembic import op

revision = 'a7c31e05b2d4'
down_revision = 'efd7c340bb0c'
branch_labels = None
depends_on = None

ALL = ["buy_leads", "edit_site", "export_leads", "manage_documents", "send_email",
       "take_leads", "use_automations", "view_statistics"]
DEFAULT_NAME = "Accès complet"


def upgrade() -> None:
    op.add_column('access_levels', sa.Column('is_default', sa.Boolean(),
                                             server_default=sa.text('false'), nullable=False))
    op.add_column('access_levels', sa.Column('updated_at', sa.DateTime(timezone=True),
                                             nullable=True))
    op.create_index('uq_access_levels_default', 'access_levels', ['network_id'], unique=True,
                    postgresql_where=sa.text('is_default'))
    everything = json.dumps(ALL)
    op.execute(sa.text("UPDATE access_levels SET permissions = CAST(:all AS jsonb)")
               .bindparams(all=everything))
    op.execute(sa.text("""
        INSERT INTO access_levels (id, network_id, name, permissions, is_default, created_at)
        SELECT gen_random_uuid(), n.id,
               CASE WHEN EXISTS (SELECT 1 FROM access_levels l
                                 WHERE l.network_id = n.id AND l.name = CAST(:name AS text))
                    THEN CAST(:name AS text) || ' (par défaut)' ELSE CAST(:name AS text) END,
               CAST(:all AS jsonb), true, now()
        FROM networks n""").bindparams(name=DEFAULT_NAME, all=everything))
    op.add_column('payments', sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('payments', sa.Column('refund_reference', sa.String(length=100), nullable=True))
    op.add_column('payments', sa.Column('refunded_by', sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column('payments', 'refunded_by')
    op.drop_column('payments', 'refund_reference')
    op.drop_column('payments', 'refunded_at')
    op.execute("UPDATE users SET access_level_id = NULL WHERE access_level_id IN "
               "(SELECT id FROM access_levels WHERE is_default)")
    op.execute("DELETE FROM access_levels WHERE is_default")
    op.drop_index('uq_access_levels_default', table_name='access_levels',
                  postgresql_where=sa.text('is_default'))
    op.drop_column('access_levels', 'updated_at')
    op.drop_column('access_levels', 'is_default')
