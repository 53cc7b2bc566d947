"""journeys: pause/resume of a journey definition

Revision ID: b8d2f3e40203
Revises: b8d2f3e40202
Create Date: 2026-11-25 18:40:00
"""
import sqlalchemy as sa
from alembic import op

import bestnext.db

revision = 'b8d2f3e40203'
down_revision = 'b8d2f3e40202'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('journey_controls',
    sa.Column('journey_id', sa.String(length=64), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('changed_at', bestnext.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('journey_id')
    )


def downgrade() -> None:
    op.drop_table('journey_controls')
