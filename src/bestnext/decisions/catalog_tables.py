"""Versions of the action catalog, edited in the console or the API (Alembic branch ``catalog``)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text

from bestnext.db import UtcDateTime, metadata

catalog_versions = Table(
    "catalog_versions",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("yaml", Text, nullable=False),
    Column("catalog_version", String(64), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("activated_by", String(64), nullable=True),
    Column("activated_at", UtcDateTime, nullable=True),
    Index("ix_catalog_versions_active", "active"),
)
