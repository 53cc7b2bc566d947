"""The transactional outbox: named queries. Callers pass their own connection (transaction).

Claiming is ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`` on
PostgreSQL; on SQLite the same statement runs inside ``BEGIN IMMEDIATE`` (one writer at a time,
so the claim is a single safe claimer) and ``FOR UPDATE`` is not emitted. A claim is a lease:
a worker that dies mid-send loses it when ``lease_until`` passes, and another worker sends again
with the same idempotency key (the action id), which providers deduplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select, update
from sqlalchemy.engine import RowMapping

from bestnext.channels.model import OutboundAction, OutboxRow, Status
from bestnext.channels.tables import outbox
from bestnext.db import insert_ignore
from bestnext.eventlog import wake


def enqueue(conn: Connection, action: OutboundAction, *, now: datetime | None = None) -> bool:
    """Add ``action`` to the outbox in the caller's transaction; False if its id is known.

    ``now`` is the creation time (defaults to ``due_at``: the caller knows its clock).
    """
    row = {
        "id": action.id, "person_id": action.person_id, "channel": action.channel,
        "purpose": action.purpose, "action": action.action, "product": action.product,
        "offer": action.offer, "journey": action.journey, "based_on": list(action.based_on),
        "assignee": action.assignee, "text": action.text, "data": dict(action.data),
        "due_at": action.due_at, "created_at": now or action.due_at, "status": Status.PENDING.value,
        "attempts": 0, "next_attempt_at": action.due_at,
    }
    added = insert_ignore(conn, outbox, [row], ("id",)) == 1
    if added:
        wake.announce(conn, wake.OUTBOX)  # dispatchers of other processes: woken on commit
    return added


def _row(m: RowMapping) -> OutboxRow:
    action = OutboundAction(
        id=m["id"], person_id=m["person_id"], channel=m["channel"], purpose=m["purpose"],
        action=m["action"], due_at=m["due_at"], product=m["product"], offer=m["offer"],
        journey=m["journey"], based_on=tuple(m["based_on"] or ()), assignee=m["assignee"],
        text=m["text"], data=dict(m["data"] or {}),
    )
    return OutboxRow(action, Status(m["status"]), m["attempts"], m["next_attempt_at"],
                     m["last_error"], m["sent_at"], m["provider_message_id"], m["claimed_by"])


def get(conn: Connection, action_id: str) -> OutboxRow | None:
    found = conn.execute(select(outbox).where(outbox.c.id == action_id)).mappings().first()
    return _row(found) if found else None


def _claimable(now: datetime) -> Any:
    return or_(
        and_(outbox.c.status == Status.PENDING.value, outbox.c.next_attempt_at <= now),
        and_(outbox.c.status == Status.SENDING.value, outbox.c.lease_until <= now),
    )


def has_due(conn: Connection, now: datetime) -> bool:
    """Whether anything is claimable now (a cheap read before taking the write lock)."""
    return conn.execute(select(outbox.c.id).where(_claimable(now)).limit(1)).first() is not None


def claim(conn: Connection, worker: str, now: datetime, limit: int, lease: timedelta) -> list[OutboxRow]:
    """Lease up to ``limit`` due actions (and those whose lease expired) to ``worker``."""
    ids = (
        select(outbox.c.id).where(_claimable(now)).order_by(outbox.c.next_attempt_at)
        .limit(limit).with_for_update(skip_locked=True)
    )
    stmt = (
        update(outbox).where(outbox.c.id.in_(ids.scalar_subquery()))
        .values(status=Status.SENDING.value, claimed_by=worker, lease_until=now + lease,
                attempts=outbox.c.attempts + 1)
        .returning(*outbox.c)
    )
    rows = [_row(m) for m in conn.execute(stmt).mappings()]
    return sorted(rows, key=lambda r: (r.next_attempt_at, r.action.id))


def _mine(action_id: str, worker: str) -> Any:
    return and_(outbox.c.id == action_id, outbox.c.claimed_by == worker,
                outbox.c.status == Status.SENDING.value)


def mark_sent(conn: Connection, action_id: str, worker: str, at: datetime,
              provider_message_id: str | None) -> bool:
    """Record a send; False if the lease was lost (another worker owns the action now)."""
    result = conn.execute(update(outbox).where(_mine(action_id, worker)).values(
        status=Status.SENT.value, sent_at=at, provider_message_id=provider_message_id,
        lease_until=None, last_error=None))
    return result.rowcount == 1


def mark_sent_many(conn: Connection, sends: list[tuple[str, str | None]], worker: str, at: datetime) -> set[str]:
    """:func:`mark_sent` for a batch of ``(action id, provider message id)`` in one statement;
    returns the ids still held (the others' leases were lost)."""
    if not sends:
        return set()
    ids = [i for i, _ in sends]
    provider_id = case({i: p for i, p in sends}, value=outbox.c.id, else_=None)
    stmt = (update(outbox).where(outbox.c.id.in_(ids), outbox.c.claimed_by == worker,
                                 outbox.c.status == Status.SENDING.value)
            .values(status=Status.SENT.value, sent_at=at, provider_message_id=provider_id,
                    lease_until=None, last_error=None)
            .returning(outbox.c.id))
    return set(conn.execute(stmt).scalars())


def mark_failed(conn: Connection, action_id: str, worker: str, reason: str, retry_at: datetime | None) -> bool:
    """Record a failed attempt: back to pending at ``retry_at``, or dead when it is None."""
    values: dict[str, Any] = {"last_error": reason[:500], "lease_until": None}
    if retry_at is None:
        values["status"] = Status.DEAD.value
    else:
        values.update(status=Status.PENDING.value, next_attempt_at=retry_at)
    return conn.execute(update(outbox).where(_mine(action_id, worker)).values(**values)).rowcount == 1


def cancel(conn: Connection, action_id: str, worker: str, reason: str) -> bool:
    """The action became illegal: it is never sent."""
    return conn.execute(update(outbox).where(_mine(action_id, worker)).values(
        status=Status.CANCELLED.value, last_error=reason[:500], lease_until=None)).rowcount == 1


def cancel_pending(conn: Connection, action_id: str, reason: str) -> bool:
    """Cancel an action nobody holds (still pending): consent was withdrawn meanwhile."""
    return conn.execute(update(outbox).where(outbox.c.id == action_id, outbox.c.status == Status.PENDING.value)
                        .values(status=Status.CANCELLED.value, last_error=reason[:500])).rowcount == 1


def reschedule(conn: Connection, action_id: str, worker: str, at: datetime, reason: str) -> bool:
    """Not now (quiet hours, budget): pending again at ``at``; not counted as an attempt."""
    return conn.execute(update(outbox).where(_mine(action_id, worker)).values(
        status=Status.PENDING.value, next_attempt_at=at, last_error=reason[:500], lease_until=None,
        attempts=outbox.c.attempts - 1)).rowcount == 1


def redrive(conn: Connection, now: datetime, action_id: str | None = None) -> int:
    """Put dead actions (one, or all) back in the queue, due now, with fresh attempts."""
    cond = outbox.c.status == Status.DEAD.value
    if action_id is not None:
        cond = and_(cond, outbox.c.id == action_id)
    return int(conn.execute(update(outbox).where(cond).values(
        status=Status.PENDING.value, attempts=0, next_attempt_at=now, claimed_by=None)).rowcount)


def sent_actions(conn: Connection, since: datetime | None = None, until: datetime | None = None) -> list[OutboxRow]:
    """Sent actions in time order (for ``bestnext replay``)."""
    query = select(outbox).where(outbox.c.status == Status.SENT.value)
    if since is not None:
        query = query.where(outbox.c.sent_at >= since)
    if until is not None:
        query = query.where(outbox.c.sent_at <= until)
    query = query.order_by(outbox.c.sent_at, outbox.c.id)
    return [_row(m) for m in conn.execute(query).mappings()]


def of_person(conn: Connection, person_id: str) -> list[OutboxRow]:
    query = select(outbox).where(outbox.c.person_id == person_id).order_by(outbox.c.due_at)
    return [_row(m) for m in conn.execute(query).mappings()]


def of_person_many(conn: Connection, person_ids: list[str]) -> list[OutboxRow]:
    """Actions of several people (checks and exports)."""
    query = select(outbox).where(outbox.c.person_id.in_(person_ids)).order_by(outbox.c.due_at)
    return [_row(m) for m in conn.execute(query).mappings()]


def find_by_provider_id(conn: Connection, provider_message_id: str) -> OutboxRow | None:
    found = conn.execute(select(outbox).where(
        outbox.c.provider_message_id == provider_message_id)).mappings().first()
    return _row(found) if found else None


def next_due_at(conn: Connection) -> datetime | None:
    """When the next pending action (or expired lease) becomes claimable; the replay driver's timer."""
    pending = select(func.min(outbox.c.next_attempt_at)).where(outbox.c.status == Status.PENDING.value)
    leased = select(func.min(outbox.c.lease_until)).where(outbox.c.status == Status.SENDING.value)
    values = [conn.execute(q).scalar_one_or_none() for q in (pending, leased)]
    present = [v for v in values if v is not None]
    return min(present) if present else None


@dataclass(frozen=True)
class QueueStatus:
    depth: int
    oldest_pending_due_at: datetime | None
    by_channel: dict[str, dict[str, int]]
    #: failed send attempts per channel (attempts that did not end in a send)
    failures: dict[str, int]


def status(conn: Connection) -> QueueStatus:
    """Queue depth, oldest pending action, counts by channel and status, failed attempts."""
    counts: dict[str, dict[str, int]] = {}
    failures: dict[str, int] = {}
    in_flight = case((outbox.c.status.in_((Status.SENT.value, Status.SENDING.value)), 1), else_=0)
    query = (select(outbox.c.channel, outbox.c.status, func.count(), func.sum(outbox.c.attempts - in_flight))
             .group_by(outbox.c.channel, outbox.c.status))
    for channel, state, n, failed in conn.execute(query):
        counts.setdefault(channel, {})[state] = int(n)
        failures[channel] = failures.get(channel, 0) + int(failed or 0)
    waiting = (Status.PENDING.value, Status.SENDING.value)
    depth = sum(n for per in counts.values() for s, n in per.items() if s in waiting)
    oldest = conn.execute(select(func.min(outbox.c.due_at)).where(
        outbox.c.status.in_(waiting))).scalar_one_or_none()
    return QueueStatus(depth, oldest, counts, failures)
