"""Tables of the learning half of decisions (Alembic branch ``learning``)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table

from bestnext.db import JsonDoc, metadata

decision_models = Table(
    "decision_models",
    metadata,
    Column("action_id", String(100), primary_key=True),
    Column("channel", String(32), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("state", JsonDoc, nullable=False),
    Column("monitor", JsonDoc, nullable=False),
    Column("responses", Integer, nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),  # +1 per save (optimistic concurrency)
)
