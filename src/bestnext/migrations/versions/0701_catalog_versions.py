"""catalog: versions of the action catalog (YAML, who, when, active)

Revision ID: 7c1a0b0e0701
Revises:
Create Date: 2026-11-25 18:45:00
"""
import sqlalchemy as sa
from alembic import op

import bestnext.db

revision = '7c1a0b0e0701'
down_revision = None
branch_labels = ('catalog',)
depends_on = None


def upgrade() -> None:
    op.create_table('catalog_versions',
    sa.Column('number', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('yaml', sa.Text(), nullable=False),
    sa.Column('catalog_version', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', bestnext.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('activated_by', sa.String(length=64), nullable=True),
    sa.Column('activated_at', bestnext.db.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('number')
    )
    op.create_index('ix_catalog_versions_active', 'catalog_versions', ['active'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_catalog_versions_active', table_name='catalog_versions')
    op.drop_table('catalog_versions')
