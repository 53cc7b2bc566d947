"""Profiles' tables: one folded profile per person, and joint holdings keyed by customer number."""

from sqlalchemy import Column, Integer, String, Table

from bestnext.db import JsonDoc, metadata

profiles = Table(
    "profiles",
    metadata,
    Column("person_id", String(36), primary_key=True),
    Column("lifecycle_stage", String(16), nullable=True, index=True),
    Column("event_count", Integer, nullable=False),
    Column("doc", JsonDoc, nullable=False),
)

# A joint account makes every holder a holder: kept by customer number, so it follows the
# holder through merges and un-merges and reaches a holder not yet seen.
profile_joint_holdings = Table(
    "profile_joint_holdings",
    metadata,
    Column("user_id", String(320), primary_key=True),
    Column("product", String(64), primary_key=True),
    Column("message_id", String(200), primary_key=True),
    Column("since", String(40), nullable=False),
)
