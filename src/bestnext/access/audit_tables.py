"""The audit log: who read or changed what about a person, when and why."""

from sqlalchemy import Column, Index, String, Table

from bestnext.db import BigId, UtcDateTime, metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("principal_id", String(64), nullable=False),
    Column("principal_name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("action", String(64), nullable=False),  # e.g. profile.read, privacy.erase
    Column("person_id", String(36), nullable=True),
    Column("purpose", String(500), nullable=True),  # why: X-Purpose header or a reason
    Index("ix_audit_log_person_id", "person_id"),
    Index("ix_audit_log_at", "at"),
)
