"""profiles: folded profiles and joint holdings

Revision ID: 5e1f0a7c2b91
Revises:
Create Date: 2026-11-25 17:24:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '5e1f0a7c2b91'
down_revision = None
branch_labels = ('profiles',)
depends_on = None


def upgrade() -> None:
    op.create_table('profile_joint_holdings',
    sa.Column('user_id', sa.String(length=320), nullable=False),
    sa.Column('product', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('since', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'product', 'message_id', name=op.f('pk_profile_joint_holdings'))
    )
    op.create_table('profiles',
    sa.Column('person_id', sa.String(length=36), nullable=False),
    sa.Column('lifecycle_stage', sa.String(length=16), nullable=True),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('doc', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_profiles'))
    )
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_profiles_lifecycle_stage'), ['lifecycle_stage'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_profiles_lifecycle_stage'))

    op.drop_table('profiles')
    op.drop_table('profile_joint_holdings')
