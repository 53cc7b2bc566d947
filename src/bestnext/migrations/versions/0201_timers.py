"""timers: durable timers

Revision ID: a7c1e2d30201
Revises:
Create Date: 2026-11-25 17:40:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import bestnext.db

revision = 'a7c1e2d30201'
down_revision = None
branch_labels = ('timers',)
depends_on = None


def upgrade() -> None:
    op.create_table('timers',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('due_at', bestnext.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('payload', postgresql.JSONB().with_variant(sa.JSON(), "sqlite"), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', bestnext.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('fired_at', bestnext.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timers')),
    sa.UniqueConstraint('key', name=op.f('uq_timers_key'))
    )
    op.create_index('ix_timers_status_due_at', 'timers', ['status', 'due_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_timers_status_due_at', table_name='timers')
    op.drop_table('timers')
