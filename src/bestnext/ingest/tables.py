"""Sources: the touchpoints allowed to send events, each with a hashed write key."""

from sqlalchemy import Column, String, Table

from bestnext.db import UtcDateTime, metadata

sources = Table(
    "sources",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("touchpoint", String(32), nullable=False),
    Column("write_key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)
