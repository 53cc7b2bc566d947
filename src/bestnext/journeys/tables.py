"""Journey instances, their step history and the contacts they scheduled."""

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text

from bestnext.db import BigId, JsonDoc, UtcDateTime, metadata

journey_instances = Table(
    "journey_instances",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("journey_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("person_id", String(36), nullable=False),
    Column("status", String(16), nullable=False),
    Column("step", String(64), nullable=True),
    Column("vars", JsonDoc, nullable=False),
    Column("waiting_event", String(200), nullable=True),
    Column("wait_until", UtcDateTime, nullable=True),
    Column("entered_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("end_reason", String(64), nullable=True),
    Column("entry_message", String(200), nullable=True),
    Index("ix_journey_instances_person_id_status", "person_id", "status"),
    Index("ix_journey_instances_journey_id_person_id", "journey_id", "person_id"),
)

journey_steps = Table(
    "journey_steps",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("instance_id", String(36), nullable=False),
    Column("step", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("outcome", Text, nullable=True),
    Index("ix_journey_steps_instance_id", "instance_id"),
)

journey_contacts = Table(
    "journey_contacts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("instance_id", String(36), nullable=False),
    Column("journey_id", String(64), nullable=False),
    Column("person_id", String(36), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("product", String(64), nullable=True),
    Column("due_at", UtcDateTime, nullable=False),
    Column("based_on", JsonDoc, nullable=False),
    Index("ix_journey_contacts_person_id_due_at", "person_id", "due_at"),
)

journey_controls = Table(
    "journey_controls",
    metadata,
    Column("journey_id", String(64), primary_key=True),
    Column("paused", Boolean, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("changed_by", String(64), nullable=False),
)
