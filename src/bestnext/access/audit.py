"""Writing and reading the audit log.

Every read of a profile (API, console, CLI) calls :func:`record` in its transaction with the
principal, the action, the person and the reason (the ``X-Purpose`` header or a typed reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from bestnext.access.audit_tables import audit_log
from bestnext.access.model import Principal
from bestnext.access.permissions import Permission, allows
from bestnext.access.pseudonym import pseudonymise

ERASED_PURPOSE = "[erased]"


def record(conn: Connection, principal: Principal, action: str, person_id: str | None,
           purpose: str | None, at: datetime) -> None:
    """Append one audit entry."""
    conn.execute(audit_log.insert().values(
        at=at, principal_id=principal.id, principal_name=principal.name, role=principal.role.value,
        action=action, person_id=person_id, purpose=(purpose or None) and purpose[:500]))


def entries(conn: Connection, *, person_id: str | None = None, action: str | None = None,
            since: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Newest first."""
    query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
    if person_id:
        query = query.where(audit_log.c.person_id == person_id)
    if action:
        query = query.where(audit_log.c.action == action)
    if since:
        query = query.where(audit_log.c.at >= since)
    return [{str(k): v for k, v in r._mapping.items()} for r in conn.execute(query)]


def export(conn: Connection, person_id: str) -> dict[str, Any]:
    """Who accessed the person's data (part of a data subject access request)."""
    return {"audit": entries(conn, person_id=person_id, limit=100_000)}


def erase(conn: Connection, person_id: str) -> None:
    """Keep the accountability trail, drop the free text that could describe the person."""
    conn.execute(update(audit_log).where(audit_log.c.person_id == person_id)
                 .values(purpose=ERASED_PURPOSE))


def profile_view(conn: Connection, principal: Principal, person_id: str, view: Mapping[str, Any],
                 why: str | None, at: datetime, key: str) -> dict[str, Any]:
    """Audit a read of a person's profile and return what ``principal`` may see: the view
    itself with ``profiles:identified``, else its pseudonymised form (analysts, marketers).

    Call it in a write transaction (``engine.begin()``) wherever a profile is read.
    """
    record(conn, principal, "profile.read", person_id, why, at)
    if allows(principal.role, Permission.PROFILES_IDENTIFIED):
        return dict(view)
    return pseudonymise(view, key)
