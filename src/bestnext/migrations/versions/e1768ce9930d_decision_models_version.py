"""decision models version: saves write over the version they read (optimistic concurrency)

Revision ID: e1768ce9930d
Revises: 35738b39697a
Create Date: 2026-11-25 20:45:36.088512

Existing models start at version 1.
"""
import sqlalchemy as sa
from alembic import op

revision = 'e1768ce9930d'
down_revision = '35738b39697a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('decision_models', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('decision_models', schema=None) as batch_op:
        batch_op.drop_column('version')
