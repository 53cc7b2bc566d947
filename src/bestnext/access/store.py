"""Named queries for API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, select, update

from bestnext.access.model import Principal, Role, hash_secret, new_secret
from bestnext.access.tables import api_keys


def create_key(conn: Connection, name: str, role: Role, now: datetime) -> tuple[str, str]:
    """Create an API key; returns ``(id, plaintext)``. Only the hash is stored."""
    key_id, secret = str(uuid.uuid4()), new_secret("bn")
    conn.execute(api_keys.insert().values(
        id=key_id, name=name, role=role.value, key_hash=hash_secret(secret), created_at=now))
    return key_id, secret


def find_key(conn: Connection, secret: str) -> Principal | None:
    row = conn.execute(
        select(api_keys).where(api_keys.c.key_hash == hash_secret(secret), api_keys.c.revoked_at.is_(None))
    ).first()
    return Principal(row.id, row.name, Role(row.role)) if row else None


def revoke_key(conn: Connection, key_id: str, now: datetime) -> bool:
    result = conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=now))
    return bool(result.rowcount)


def list_keys(conn: Connection) -> list[dict[str, object]]:
    rows = conn.execute(select(api_keys.c.id, api_keys.c.name, api_keys.c.role, api_keys.c.created_at,
                               api_keys.c.revoked_at).order_by(api_keys.c.created_at))
    return [{str(k): v for k, v in r._mapping.items()} for r in rows]
