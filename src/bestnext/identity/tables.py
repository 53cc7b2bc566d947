"""Identity resolution's tables: persons, identities, links (provenance), merges, conflicts,
household links."""

from sqlalchemy import Boolean, Column, Index, String, Table

from bestnext.db import BigId, JsonDoc, UtcDateTime, metadata

persons = Table(
    "persons",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_seq", BigId, nullable=False),
    # set while this person is absorbed by a merge (cleared by an un-merge)
    Column("absorbed_into", String(36), nullable=True),
)

identities = Table(
    "identities",
    metadata,
    Column("id_type", String(64), primary_key=True),
    Column("value", String(320), primary_key=True),
    Column("person_id", String(36), nullable=False, index=True),
    Column("linked_by", String(200), nullable=False),
    Column("linked_seq", BigId, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    # a device id seen with two different persons (a branch kiosk): it never links again
    Column("shared", Boolean, nullable=False, default=False),
    # the console finds a person by an identifier's value, whatever its type
    Index("ix_identities_value", "value"),
)

identity_links = Table(
    "identity_links",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("seq", BigId, nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("person_id", String(36), nullable=False, index=True),
    Column("identifiers", JsonDoc, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

identity_merges = Table(
    "identity_merges",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("survivor_id", String(36), nullable=False, index=True),
    Column("absorbed_id", String(36), nullable=False, index=True),
    Column("seq", BigId, nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("merged_at", UtcDateTime, nullable=False),
    Column("absorbed_identities", JsonDoc, nullable=False),
    Column("undone_at", UtcDateTime, nullable=True),
)

identity_conflicts = Table(
    "identity_conflicts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("seq", BigId, nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("person_id", String(36), nullable=False, index=True),
    Column("other_person_id", String(36), nullable=False, index=True),
    Column("identifiers", JsonDoc, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

household_links = Table(
    "household_links",
    metadata,
    Column("household_id", String(200), primary_key=True),
    Column("id_type", String(64), primary_key=True),
    Column("value", String(320), primary_key=True),
    Column("message_id", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_household_links_id_type_value", "id_type", "value"),
)
