"""Named queries for persisted models."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select

from bestnext.db import upsert
from bestnext.decisions.learning.tables import decision_models


def save_models(conn: Connection, rows: Iterable[dict[str, Any]]) -> int:
    """Insert or replace each model row; returns how many were written."""
    count = 0
    for row in rows:
        upsert(conn, decision_models, row, keys=["action_id", "channel"],
               update=["kind", "state", "monitor", "responses"])
        count += 1
    return count


def load_models(conn: Connection) -> list[dict[str, Any]]:
    """Every persisted model row."""
    return [dict(r._mapping) for r in conn.execute(select(decision_models))]


def models_stamp(conn: Connection) -> tuple[int, int]:
    """(models, responses learnt) over every persisted model: changes whenever any process
    saves a model that learnt (responses only grow), so a cached bank knows it is stale."""
    row = conn.execute(select(func.count(), func.coalesce(func.sum(decision_models.c.responses), 0))).one()
    return int(row[0]), int(row[1])
