"""The timers table: one row per pending or fired timer.

``person_id`` names the person a timer works for (a journey wake-up, a decision's response
window): erasure deletes their timers with them, and merges move them to the survivor.
"""

from sqlalchemy import Column, Index, Integer, String, Table, Text

from bestnext.db import JsonDoc, UtcDateTime, metadata

timers = Table(
    "timers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("key", String(200), nullable=True, unique=True),
    Column("due_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("payload", JsonDoc, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("fired_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("person_id", String(36), nullable=True),  # whose work it is (None: the bank's own)
    Index("ix_timers_status_due_at", "status", "due_at"),
    Index("ix_timers_person_id", "person_id"),
)
