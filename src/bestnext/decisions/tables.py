"""Tables of the decisions context: decisions and outcomes, and the contact-policy read model
(contacts, declines/complaints, service cases, a person's own requests) and the offers granted
(for their budgets)."""

from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table, UniqueConstraint

from bestnext.db import BigId, JsonDoc, UtcDateTime, metadata

decisions = Table(
    "decisions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("person_id", String(64), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("channel", String(32), nullable=True),
    Column("context", JsonDoc, nullable=False),
    Column("catalog_version", String(64), nullable=False),
    Column("control", Boolean, nullable=False),
    Column("actions", JsonDoc, nullable=False),
)

decision_outcomes = Table(
    "decision_outcomes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("decision_id", String(36), nullable=False, index=True),
    Column("action_id", String(64), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("offer", String(64), nullable=True),
    Column("reward", Float, nullable=True),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("decision_id", "action_id", "outcome"),
)

contact_log = Table(
    "contact_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ref", String(200), nullable=False, unique=True),
    Column("person_id", String(64), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("action_id", String(64), nullable=True),
    Column("direction", String(8), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_contact_log_person_at", "person_id", "at"),
)

contact_marks = Table(
    "contact_marks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ref", String(200), nullable=False, unique=True),
    Column("person_id", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # decline | complaint
    Column("action_id", String(64), nullable=True),
    Column("at", UtcDateTime, nullable=False),
)

service_cases = Table(
    "decision_service_cases",
    metadata,
    Column("case_id", String(200), primary_key=True),
    Column("person_id", String(64), nullable=False, index=True),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
)

own_requests = Table(
    "own_requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("message_id", String(200), nullable=False, unique=True),
    Column("person_id", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False, index=True),
    Column("answered_at", UtcDateTime, nullable=True),
)

offer_grants = Table(
    "offer_grants",
    metadata,
    Column("offer", String(64), primary_key=True),
    Column("granted", Integer, nullable=False),
)
