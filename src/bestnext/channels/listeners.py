"""Identity merges: the outbox, call tasks, cases and briefings follow the surviving person."""

from __future__ import annotations

from sqlalchemy import Connection, update

from bestnext.channels import branch, calls, cases
from bestnext.channels.tables import outbox


def on_merge(conn: Connection, survivor_id: str, absorbed_id: str) -> None:
    conn.execute(update(outbox).where(outbox.c.person_id == absorbed_id).values(person_id=survivor_id))
    for module in (cases, calls, branch):
        module.reassign_person(conn, survivor_id, absorbed_id)


def install() -> None:
    """Register with identity (idempotent; absent identity means nothing to follow)."""
    try:
        from bestnext.identity import hooks
    except ImportError:  # pragma: no cover - identity not installed
        return
    hooks.on_merge(on_merge)
