"""The channels context follows identity and consent.

- Merges: the outbox, call tasks, cases and briefings follow the surviving person.
- Un-merges (splits): a row follows the events it was ``based_on``: when some of those events
  moved to the restored person and none of them stayed with the original one, the row moves
  (call tasks and briefings with the outbox action that made them; cases by their own
  ``based_on``). Rows based on nothing, or on events of both, stay.
- Consent withdrawals: pending marketing actions that the consent policy now refuses are
  cancelled in the transaction that records the withdrawal (the pre-send gate would cancel
  them anyway; this keeps the queue honest and the cancellation reason exact).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection, and_, select, union_all, update

from bestnext.channels import branch, calls, cases, outbox, ports
from bestnext.channels.model import Status
from bestnext.channels.tables import branch_appointments, call_tasks, service_cases
from bestnext.channels.tables import outbox as outbox_table
from bestnext.eventlog.tables import events

log = structlog.get_logger(__name__)

_installed: set[str] = set()


def _has_rows(conn: Connection, person_id: str) -> bool:
    """Whether the person has any channels row (one probe; most absorbed people have none)."""
    probes = [select(t.c.person_id).where(t.c.person_id == person_id).limit(1).subquery().select()
              for t in (outbox_table, call_tasks, service_cases, branch_appointments)]
    return conn.execute(union_all(*probes).limit(1)).first() is not None


def on_merge(conn: Connection, survivor_id: str, absorbed_id: str) -> None:
    if not _has_rows(conn, absorbed_id):
        return
    conn.execute(update(outbox_table).where(outbox_table.c.person_id == absorbed_id).values(person_id=survivor_id))
    for module in (cases, calls, branch):
        module.reassign_person(conn, survivor_id, absorbed_id)


def _message_ids(conn: Connection, seqs: Sequence[int]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(seqs), 500):
        chunk = list(seqs[start:start + 500])
        found.update(conn.execute(select(events.c.message_id).where(events.c.seq.in_(chunk))).scalars())
    return found


def _staying(conn: Connection, person_id: str, candidates: set[str]) -> set[str]:
    """Which of ``candidates`` (message ids) are events still attributed to ``person_id``."""
    ids = sorted(candidates)
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        found.update(conn.execute(select(events.c.message_id).where(
            events.c.person_id == person_id, events.c.message_id.in_(ids[start:start + 500]))).scalars())
    return found


def _followers(rows: Iterable[Any], moved: set[str], stayed: set[str]) -> list[str]:
    """Ids of the rows whose ``based_on`` moved (some) and stayed (none)."""
    return [r.id for r in rows if set(r.based_on or ()) & moved and not set(r.based_on or ()) & stayed]


def on_split(conn: Connection, original_id: str, new_id: str, moved_seqs: Sequence[int]) -> None:
    """Rows based on the moved events follow them to ``new_id``."""
    moved = _message_ids(conn, moved_seqs)
    if not moved:
        return
    actions = conn.execute(select(outbox_table.c.id, outbox_table.c.based_on).where(
        outbox_table.c.person_id == original_id)).all()
    kases = conn.execute(select(service_cases.c.id, service_cases.c.based_on).where(
        service_cases.c.person_id == original_id)).all()
    mentioned = {m for r in (*actions, *kases) for m in (r.based_on or ())}
    stayed = _staying(conn, original_id, mentioned - moved)
    action_ids = _followers(actions, moved, stayed)
    case_ids = _followers(kases, moved, stayed)
    if action_ids:
        conn.execute(update(outbox_table).where(outbox_table.c.id.in_(action_ids)).values(person_id=new_id))
        for table in (call_tasks, branch_appointments, service_cases):
            conn.execute(update(table).where(and_(table.c.person_id == original_id,
                                                  table.c.action_id.in_(action_ids))).values(person_id=new_id))
    if case_ids:
        conn.execute(update(service_cases).where(service_cases.c.id.in_(case_ids)).values(person_id=new_id))
    log.info("channels_split", actions=len(action_ids), cases=len(case_ids))


def on_withdrawn(conn: Connection, person_id: str, purposes: frozenset[Any], at: datetime) -> None:
    """Cancel the person's pending marketing actions that consent now refuses."""
    pending = conn.execute(select(outbox_table.c.id, outbox_table.c.channel).where(
        outbox_table.c.person_id == person_id, outbox_table.c.purpose == "marketing",
        outbox_table.c.status == Status.PENDING.value)).all()
    refusals: dict[str, tuple[str, ...]] = {}
    for row in pending:
        if row.channel not in refusals:
            refusals[row.channel] = ports.consent_refusal(conn, person_id, "marketing", row.channel, at)
        reasons = refusals[row.channel]
        if reasons:
            outbox.cancel_pending(conn, row.id, "cancelled: " + ",".join(reasons))
            log.info("action_cancelled", action_id=row.id, channel=row.channel, reasons=reasons)


def install() -> None:
    """Register with identity and consent (idempotent; an absent context means nothing to follow)."""
    if "identity" not in _installed:
        try:
            from bestnext.identity import hooks
        except ImportError:  # pragma: no cover - identity not installed
            pass
        else:
            hooks.on_merge(on_merge)
            hooks.on_split(on_split)
            _installed.add("identity")
    if "consent" not in _installed:
        try:
            from bestnext.consent import hooks as consent_hooks
        except ImportError:  # pragma: no cover - consent not installed
            return
        consent_hooks.on_withdrawn(on_withdrawn)
        _installed.add("consent")
