"""Tombstones of erased people: hashes only, so that a resent event cannot resurrect them."""

from sqlalchemy import Column, String, Table

from bestnext.db import UtcDateTime, metadata

privacy_tombstones = Table(
    "privacy_tombstones",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # identifier | message
    Column("erased_at", UtcDateTime, nullable=False),
)
