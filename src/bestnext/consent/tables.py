"""The consent ledger: append-only, one row per purpose stated."""

from sqlalchemy import Boolean, Column, Index, String, Table

from bestnext.db import BigId, UtcDateTime, metadata

consent_ledger = Table(
    "consent_ledger",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("person_id", String(36), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("touchpoint", String(32), nullable=False),
    Column("message_id", String(200), nullable=True),
    Column("event_seq", BigId, nullable=True),  # the logged event it came from, if any
    Column("operator", String(200), nullable=True),
    Column("legal_version", String(64), nullable=True),
    Column("at", UtcDateTime, nullable=False),  # when the person stated it
    Column("recorded_at", UtcDateTime, nullable=False),  # when the bank recorded it
    Index("ix_consent_ledger_person_id_at", "person_id", "at"),
)
