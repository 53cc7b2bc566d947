"""Tables of the channels context: the outbox and the assisted work (calls, cases, branch)."""

from sqlalchemy import Column, Index, Integer, String, Table, Text

from bestnext.db import BigId, JsonDoc, UtcDateTime, metadata

outbox = Table(
    "outbox",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("person_id", String(36), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("product", String(64), nullable=True),
    Column("offer", String(64), nullable=True),
    Column("journey", String(64), nullable=True),
    Column("based_on", JsonDoc, nullable=False),
    Column("assignee", String(64), nullable=True),
    Column("text", Text, nullable=True),
    Column("data", JsonDoc, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("provider_message_id", String(200), nullable=True, index=True),
    Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_outbox_sent_at", "sent_at"),
)

call_tasks = Table(
    "call_tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("action_id", String(36), nullable=True, unique=True),
    Column("person_id", String(36), nullable=False, index=True),
    Column("queue", String(64), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("escalate_at", UtcDateTime, nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("product", String(64), nullable=True),
    Column("offer", String(64), nullable=True),
    Column("reason", String(200), nullable=False),
    Column("context", JsonDoc, nullable=False),
    Column("script", JsonDoc, nullable=False),
    Column("status", String(16), nullable=False),
    Column("operator", String(64), nullable=True),
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("outcome_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_call_tasks_status_due_at", "status", "due_at"),
)

service_cases = Table(
    "service_cases",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("action_id", String(36), nullable=True, unique=True),
    Column("person_id", String(36), nullable=False, index=True),
    Column("type", String(64), nullable=False),
    Column("team", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_by", String(64), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("sla_due_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("based_on", JsonDoc, nullable=False),
)

case_history = Table(
    "case_history",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("case_id", String(36), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("by", String(64), nullable=False),
)

branch_appointments = Table(
    "branch_appointments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("action_id", String(36), nullable=True, unique=True),
    Column("person_id", String(36), nullable=False, index=True),
    Column("branch", String(16), nullable=False),
    Column("advisor", String(64), nullable=True),
    Column("expected_from", UtcDateTime, nullable=False),
    Column("expected_until", UtcDateTime, nullable=True),
    Column("status", String(16), nullable=False),
    Column("briefing", JsonDoc, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
)
