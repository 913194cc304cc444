"""office kinds: distribution and construction leads (issue 13 §1)

Every table that holds a group of the stock (capture sites, captured leads, stock,
entitlements, the day's group facts, shortage alerts) and the office's leads get a
``kind``; existing rows are ``construction`` (the only kind sold before). A site lead
takes the kind its consent row recorded. The group indexes lead with the kind. The office's
kind filter needs no index of its own: it filters an owner's listing, which
``ix_office_owner_created`` already gives in order (a kind is half an office or more).

Revision ID: 6a17e5c0de14
Revises: 5a17e5c0de02
Create Date: 2026-12-03 16:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '6a17e5c0de14'
down_revision = '5a17e5c0de02'
branch_labels = None
depends_on = None

TABLES = ('capture_sites', 'leads', 'stock', 'entitlements', 'office_leads', 'group_days',
          'stock_alerts')


def _kind() -> sa.Column:
    return sa.Column('kind', sa.String(length=20), server_default='construction',
                     nullable=False)


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, _kind())
    op.execute("""
        UPDATE office_leads o SET kind = c.kind
        FROM (SELECT DISTINCT ON (lead_id) lead_id, kind FROM site_consents
              ORDER BY lead_id, consented_at) c
        WHERE o.id = c.lead_id AND o.kind <> c.kind""")
    for table, cols in (('group_days', ['country', 'tier', 'kind', 'day']),
                        ('stock_alerts', ['country', 'tier', 'kind', 'day'])):
        op.drop_constraint(f'{table}_pkey', table, type_='primary')
        op.create_primary_key(f'{table}_pkey', table, cols)
    op.drop_index('ix_stock_group_age', table_name='stock')
    op.create_index('ix_stock_group_age', 'stock',
                    ['country', 'tier', 'kind', 'captured_at', 'lead_id'], unique=False)
    op.drop_index('ix_leads_group_captured', table_name='leads',
                  postgresql_where=sa.text("status = 'accepted'"))
    op.create_index('ix_leads_group_captured', 'leads',
                    ['country', 'tier', 'kind', 'captured_at'], unique=False,
                    postgresql_where=sa.text("status = 'accepted'"))
    op.drop_index('ix_entitlements_group', table_name='entitlements',
                  postgresql_where=sa.text("status = 'active'"))
    op.create_index('ix_entitlements_group', 'entitlements', ['country', 'tier', 'kind'],
                    unique=False, postgresql_where=sa.text("status = 'active'"))


def downgrade() -> None:
    op.drop_index('ix_entitlements_group', table_name='entitlements',
                  postgresql_where=sa.text("status = 'active'"))
    op.create_index('ix_entitlements_group', 'entitlements', ['country', 'tier'],
                    unique=False, postgresql_where=sa.text("status = 'active'"))
    op.drop_index('ix_leads_group_captured', table_name='leads',
                  postgresql_where=sa.text("status = 'accepted'"))
    op.create_index('ix_leads_group_captured', 'leads', ['country', 'tier', 'captured_at'],
                    unique=False, postgresql_where=sa.text("status = 'accepted'"))
    op.drop_index('ix_stock_group_age', table_name='stock')
    op.create_index('ix_stock_group_age', 'stock', ['country', 'tier', 'captured_at', 'lead_id'],
                    unique=False)
    for table in ('group_days', 'stock_alerts'):
        op.execute(f"DELETE FROM {table} WHERE kind <> 'construction'")
        op.drop_constraint(f'{table}_pkey', table, type_='primary')
        op.create_primary_key(f'{table}_pkey', table, ['country', 'tier', 'day'])
    for table in TABLES:
        op.drop_column(table, 'kind')
