"""Profiles' tables: one folded profile per person, joint holdings keyed by customer number, and
the words of people's names for the console's search."""

from sqlalchemy import Column, Index, Integer, String, Table

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

# The console's search by name: one row per word of a person's display name (lower case, no
# accents: profiles.names.terms), kept by the profiles processor. The primary key serves the
# prefix ranges (term >= 'mar' AND term < 'mas'), the second index "has this person a word".
profile_name_terms = Table(
    "profile_name_terms",
    metadata,
    Column("term", String(100), primary_key=True),
    Column("person_id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Index("ix_profile_name_terms_person_id_term", "person_id", "term"),
)
