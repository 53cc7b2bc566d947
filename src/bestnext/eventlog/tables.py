"""The event log: the source of truth. Every accepted message is one row, in offset order."""

from sqlalchemy import Column, Index, String, Table, UniqueConstraint

from bestnext.db import BigId, JsonDoc, UtcDateTime, metadata

events = Table(
    "events",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("source_id", String(64), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("type", String(16), nullable=False),
    Column("event", String(200), nullable=True),
    Column("touchpoint", String(32), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("user_id", String(200), nullable=True),
    Column("anonymous_id", String(200), nullable=True),
    Column("person_id", String(36), nullable=True),
    Column("payload", JsonDoc, nullable=False),
    UniqueConstraint("source_id", "message_id"),
    Index("ix_events_person_id_occurred_at", "person_id", "occurred_at"),
)

processor_checkpoints = Table(
    "processor_checkpoints",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("seq", BigId, nullable=False),
)
