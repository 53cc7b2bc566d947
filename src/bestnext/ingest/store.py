"""Named queries on sources. Write keys are stored only as SHA-256 hashes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from bestnext.access import hash_secret, new_secret
from bestnext.ingest.model import Source
from bestnext.ingest.tables import sources

_COLUMNS = (sources.c.id, sources.c.name, sources.c.touchpoint, sources.c.created_at,
            sources.c.revoked_at)


def _source(row: Any) -> Source:
    return Source(row.id, row.name, row.touchpoint, row.created_at, row.revoked_at)


def insert_source(conn: Connection, name: str, touchpoint: str, now: datetime) -> tuple[Source, str]:
    """Create a source; returns it with its plaintext write key (shown once, never stored)."""
    source = Source(str(uuid.uuid4()), name, touchpoint, now)
    write_key = new_secret("bn_wk")
    conn.execute(sources.insert().values(
        id=source.id, name=name, touchpoint=touchpoint, write_key_hash=hash_secret(write_key),
        created_at=now))
    return source, write_key


def find_by_key(conn: Connection, write_key: str) -> Source | None:
    """The live (not revoked) source whose write key this is."""
    row = conn.execute(select(*_COLUMNS).where(
        sources.c.write_key_hash == hash_secret(write_key), sources.c.revoked_at.is_(None))).first()
    return _source(row) if row else None


def find_by_name(conn: Connection, name: str) -> Source | None:
    row = conn.execute(select(*_COLUMNS).where(sources.c.name == name)).first()
    return _source(row) if row else None


def find_by_id(conn: Connection, source_id: str) -> Source | None:
    row = conn.execute(select(*_COLUMNS).where(sources.c.id == source_id)).first()
    return _source(row) if row else None


def list_sources(conn: Connection) -> list[Source]:
    return [_source(r) for r in conn.execute(select(*_COLUMNS).order_by(sources.c.created_at))]


def revoke(conn: Connection, source_id: str, now: datetime) -> bool:
    """Revoke a source's write key; returns False when there is no such live source."""
    result = conn.execute(update(sources).where(
        sources.c.id == source_id, sources.c.revoked_at.is_(None)).values(revoked_at=now))
    return bool(result.rowcount)
