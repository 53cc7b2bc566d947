"""journeys: instances, steps, contacts

Revision ID: b8d2f3e40202
Revises:
Create Date: 2026-11-25 17:40:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import bestnext.db

revision = 'b8d2f3e40202'
down_revision = None
branch_labels = ('journeys',)
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table('journey_instances',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('journey_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('step', sa.String(length=64), nullable=True),
    sa.Column('vars', JSON, nullable=False),
    sa.Column('waiting_event', sa.String(length=200), nullable=True),
    sa.Column('wait_until', bestnext.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('entered_at', bestnext.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bestnext.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', bestnext.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=64), nullable=True),
    sa.Column('entry_message', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_instances'))
    )
    op.create_index('ix_journey_instances_person_id_status', 'journey_instances', ['person_id', 'status'])
    op.create_index('ix_journey_instances_journey_id_person_id', 'journey_instances', ['journey_id', 'person_id'])
    op.create_table('journey_steps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('step', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('at', bestnext.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_steps'))
    )
    op.create_index('ix_journey_steps_instance_id', 'journey_steps', ['instance_id'])
    op.create_table('journey_contacts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('journey_id', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('product', sa.String(length=64), nullable=True),
    sa.Column('due_at', bestnext.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('based_on', JSON, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_contacts'))
    )
    op.create_index('ix_journey_contacts_person_id_due_at', 'journey_contacts', ['person_id', 'due_at'])


def downgrade() -> None:
    op.drop_table('journey_contacts')
    op.drop_table('journey_steps')
    op.drop_table('journey_instances')
