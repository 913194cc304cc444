"""users' websites and boutiques: slugs, page templates, overrides, site profiles, images,
the boutiques and their catalogues (issue 13 §2, §3)

Revision ID: 5a17e5c0de01
Revises: 47e03bc6fea4
Create Date: 2026-12-03 13:20:00

Every existing member gets a slug made from their id (names are encrypted, so SQL cannot
read them); members created from now on get one from their name (``domain.sites.slug_for``).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '5a17e5c0de01'
down_revision = '47e03bc6fea4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('slug', sa.String(length=80), nullable=True))
    op.execute("UPDATE users SET slug = 'u-' || substr(md5(id::text), 1, 12) "
               "WHERE role IN ('user', 'admin')")
    op.create_unique_constraint(op.f('uq_users_slug'), 'users', ['slug'])
    op.create_table(
        'site_pages',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('network_id', sa.Uuid(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('blocks', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('created_by', sa.Uuid(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('distribution', 'construction')",
                           name=op.f('ck_site_pages_kind')),
        sa.ForeignKeyConstraint(['network_id'], ['networks.id'],
                                name=op.f('fk_site_pages_network_id_networks')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_site_pages')),
        sa.UniqueConstraint('network_id', 'kind', name=op.f('uq_site_pages_network_id_kind')),
    )
    op.create_table(
        'site_overrides',
        sa.Column('page_id', sa.Uuid(), nullable=False),
        sa.Column('block_id', sa.String(length=40), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('content', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('edited_by', sa.Uuid(), nullable=False),
        sa.Column('edited_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['page_id'], ['site_pages.id'], ondelete='CASCADE',
                                name=op.f('fk_site_overrides_page_id_site_pages')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_site_overrides_user_id_users')),
        sa.PrimaryKeyConstraint('page_id', 'block_id', 'user_id', name=op.f('pk_site_overrides')),
    )
    op.create_index(op.f('ix_site_overrides_user_id'), 'site_overrides', ['user_id'],
                    unique=False)
    op.create_table(
        'site_images',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('network_id', sa.Uuid(), nullable=False),
        sa.Column('content_type', sa.String(length=20), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('uploaded_by', sa.Uuid(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['network_id'], ['networks.id'],
                                name=op.f('fk_site_images_network_id_networks')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_site_images')),
    )
    op.create_index(op.f('ix_site_images_network_id'), 'site_images', ['network_id'],
                    unique=False)
    op.create_table(
        'site_profiles',
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('show_name', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.Column('show_phone', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.Column('show_email', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.Column('show_photo', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.Column('photo_image_id', sa.Uuid(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['photo_image_id'], ['site_images.id'], ondelete='SET NULL',
                                name=op.f('fk_site_profiles_photo_image_id_site_images')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_site_profiles_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_site_profiles')),
    )
    op.create_table(
        'boutiques',
        sa.Column('network_id', sa.Uuid(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('intro', sa.Text(), nullable=False),
        sa.Column('notice', sa.Text(), nullable=False),
        sa.Column('notice_version', sa.String(length=40), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['network_id'], ['networks.id'],
                                name=op.f('fk_boutiques_network_id_networks')),
        sa.PrimaryKeyConstraint('network_id', name=op.f('pk_boutiques')),
    )
    op.create_table(
        'boutique_products',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('network_id', sa.Uuid(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('price_cents', sa.Integer(), nullable=False),
        sa.Column('image_ids', postgresql.JSONB(astext_type=sa.Text()),
                  server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column('order_note', sa.String(length=500), server_default=sa.text("''"),
                  nullable=False),
        sa.Column('position', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('created_by', sa.Uuid(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('price_cents >= 0', name=op.f('ck_boutique_products_price')),
        sa.ForeignKeyConstraint(['network_id'], ['networks.id'],
                                name=op.f('fk_boutique_products_network_id_networks')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_boutique_products')),
    )
    op.create_index(op.f('ix_boutique_products_network_id_position_id'), 'boutique_products',
                    ['network_id', 'position', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_boutique_products_network_id_position_id'),
                  table_name='boutique_products')
    op.drop_table('boutique_products')
    op.drop_table('boutiques')
    op.drop_table('site_profiles')
    op.drop_index(op.f('ix_site_images_network_id'), table_name='site_images')
    op.drop_table('site_images')
    op.drop_index(op.f('ix_site_overrides_user_id'), table_name='site_overrides')
    op.drop_table('site_overrides')
    op.drop_table('site_pages')
    op.drop_constraint(op.f('uq_users_slug'), 'users', type_='unique')
    op.drop_column('users', 'slug')
