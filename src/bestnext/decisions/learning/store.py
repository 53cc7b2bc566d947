"""Named queries for persisted models: each row carries a ``version``, and a save writes
over the version it read (optimistic concurrency, see :meth:`ModelBank.save`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, update

from bestnext.db import insert_ignore
from bestnext.decisions.learning.tables import decision_models


def save_model(conn: Connection, row: dict[str, Any], expected: int | None) -> bool:
    """Write a model over the stored version ``expected`` (None: a new model), as version
    ``expected + 1``; False when the stored version is another one (another process saved it
    since): the caller merges and tries again. On PostgreSQL a concurrent writer's update
    waits for the first one's commit, then finds the version moved."""
    if expected is None:
        return insert_ignore(conn, decision_models, [{**row, "version": 1}], ["action_id", "channel"]) == 1
    written = conn.execute(
        update(decision_models)
        .where(decision_models.c.action_id == row["action_id"], decision_models.c.channel == row["channel"],
               decision_models.c.version == expected)
        .values(kind=row["kind"], state=row["state"], monitor=row["monitor"], responses=row["responses"],
                version=expected + 1))
    return written.rowcount == 1


def load_model(conn: Connection, action_id: str, channel: str) -> dict[str, Any] | None:
    """The stored row of one model (None when there is none)."""
    found = conn.execute(select(decision_models).where(decision_models.c.action_id == action_id,
                                                       decision_models.c.channel == channel)).first()
    return None if found is None else dict(found._mapping)


def load_models(conn: Connection) -> list[dict[str, Any]]:
    """Every persisted model row."""
    return [dict(r._mapping) for r in conn.execute(select(decision_models))]


def models_stamp(conn: Connection) -> tuple[int, int]:
    """(models, responses learnt) over every persisted model: changes whenever any process
    saves a model that learnt (responses only grow), so a cached bank knows it is stale."""
    row = conn.execute(select(func.count(), func.coalesce(func.sum(decision_models.c.responses), 0))).one()
    return int(row[0]), int(row[1])
