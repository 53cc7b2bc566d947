"""timers person_id: whose work a timer is, so that erasure deletes it with the person

Revision ID: 5b1ad17455a7
Revises: a7c1e2d30201
Create Date: 2026-11-25 20:32:49.888330

Existing journey wake-ups and decision response windows learn their person from the instance
or decision their payload names (when that context's table is there).
"""
import sqlalchemy as sa
from alembic import op

revision = '5b1ad17455a7'
down_revision = 'a7c1e2d30201'
branch_labels = None
depends_on = None

_OWNERS = {"journey.wake": ("journey_instances", "instance"), "decisions.ignored": ("decisions", "decision_id")}


def upgrade() -> None:
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_id', sa.String(length=36), nullable=True))
        batch_op.create_index('ix_timers_person_id', ['person_id'], unique=False)
    _backfill()


def _backfill() -> None:
    conn = op.get_bind()
    present = set(sa.inspect(conn).get_table_names())
    timers = sa.table("timers", sa.column("id"), sa.column("kind"), sa.column("payload", sa.JSON()),
                      sa.column("person_id"))
    for kind, (name, field) in _OWNERS.items():
        if name not in present:
            continue
        owners = sa.table(name, sa.column("id"), sa.column("person_id"))
        found = conn.execute(sa.select(timers.c.id, timers.c.payload).where(timers.c.kind == kind)).all()
        keys = sorted({str((payload or {}).get(field)) for _id, payload in found})
        person_of: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            person_of.update(conn.execute(sa.select(owners.c.id, owners.c.person_id)
                                          .where(owners.c.id.in_(keys[start:start + 500]))).all())
        for timer_id, payload in found:
            person = person_of.get(str((payload or {}).get(field)))
            if person is not None:
                conn.execute(sa.update(timers).where(timers.c.id == timer_id).values(person_id=person))


def downgrade() -> None:
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_index('ix_timers_person_id')
        batch_op.drop_column('person_id')
