"""Named queries on the timers table.

A timer is claimed and fired in the same transaction as its effects, so it fires once: a crash
before the commit leaves it pending and it fires again after the restart.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from bestnext.clock import as_utc
from bestnext.db import insert_ignore
from bestnext.timers.model import Timer, TimerStatus
from bestnext.timers.tables import timers

_INSERT = timers.insert()


def schedule(conn: Connection, kind: str, due_at: datetime, payload: dict[str, Any], *,
             now: datetime, key: str | None = None, person_id: str | None = None) -> bool:
    """Schedule a timer; with ``key``, a second timer with the same key is ignored.

    ``person_id`` names the person the work is for (privacy erases their timers with them);
    None for the bank's own work (the retention sweep). Returns whether a new row was written.
    """
    row = {"id": str(uuid.uuid4()), "kind": kind, "key": key, "due_at": due_at,
           "status": TimerStatus.PENDING.value, "payload": payload, "attempts": 0,
           "created_at": now, "person_id": person_id}
    if key is None:
        conn.execute(_INSERT, row)
        return True
    return insert_ignore(conn, timers, [row], ("key",)) == 1


def reschedule(conn: Connection, key: str, due_at: datetime, payload: dict[str, Any], *,
               now: datetime, kind: str, person_id: str | None = None) -> None:
    """Move the pending timer ``key`` to ``due_at`` (debounce), or schedule it anew."""
    moved = conn.execute(
        update(timers).where(timers.c.key == key, timers.c.status == TimerStatus.PENDING.value)
        .values(due_at=due_at, payload=payload)
    ).rowcount
    if not moved:
        conn.execute(timers.delete().where(timers.c.key == key))
        schedule(conn, kind, due_at, payload, now=now, key=key, person_id=person_id)


def cancel(conn: Connection, key: str) -> int:
    """Cancel the pending timer with ``key``; returns how many were cancelled."""
    return int(conn.execute(
        update(timers).where(timers.c.key == key, timers.c.status == TimerStatus.PENDING.value)
        .values(status=TimerStatus.CANCELLED.value)
    ).rowcount)


def move_person(conn: Connection, survivor_id: str, absorbed_id: str) -> None:
    """Timers follow the person when identity merges two profiles."""
    conn.execute(update(timers).where(timers.c.person_id == absorbed_id).values(person_id=survivor_id))


def next_due(conn: Connection) -> datetime | None:
    """When the earliest pending timer is due (None when there is none)."""
    value = conn.execute(
        select(func.min(timers.c.due_at)).where(timers.c.status == TimerStatus.PENDING.value)
    ).scalar_one_or_none()
    return None if value is None else as_utc(value)


def claim_due(conn: Connection, now: datetime, limit: int) -> list[Timer]:
    """Lock up to ``limit`` due timers (``FOR UPDATE SKIP LOCKED`` on PostgreSQL).

    On SQLite the write transaction (``BEGIN IMMEDIATE``) already makes this the only claimer.
    """
    query = (
        select(timers).where(timers.c.status == TimerStatus.PENDING.value, timers.c.due_at <= now)
        .order_by(timers.c.due_at, timers.c.created_at).limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [_timer(row._mapping) for row in conn.execute(query)]


def mark_done(conn: Connection, ids: Sequence[str], now: datetime) -> None:
    if ids:
        conn.execute(update(timers).where(timers.c.id.in_(list(ids)))
                     .values(status=TimerStatus.DONE.value, fired_at=now))


def mark_retry(conn: Connection, timer: Timer, due_at: datetime, error: str, *, give_up: bool) -> None:
    status = TimerStatus.FAILED if give_up else TimerStatus.PENDING
    conn.execute(update(timers).where(timers.c.id == timer.id).values(
        status=status.value, due_at=due_at, attempts=timer.attempts + 1, last_error=error[:500]))


def pending(conn: Connection, kind: str | None = None) -> list[Timer]:
    """Pending timers, earliest first (for the CLI and tests)."""
    query = select(timers).where(timers.c.status == TimerStatus.PENDING.value)
    if kind:
        query = query.where(timers.c.kind == kind)
    return [_timer(r._mapping) for r in conn.execute(query.order_by(timers.c.due_at))]


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(timers.c.status, func.count()).group_by(timers.c.status))
    return {str(status): int(n) for status, n in rows}


def _timer(row: Any) -> Timer:
    return Timer(id=row["id"], kind=row["kind"], due_at=row["due_at"], payload=dict(row["payload"]),
                 key=row["key"], attempts=int(row["attempts"]), person_id=row["person_id"])
