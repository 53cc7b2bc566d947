"""Housekeeping: the operational rows that grow with traffic, purged after an age (the
``housekeeping:`` section of the bank's ``retention.yaml``), as part of the daily retention run.

Only bookkeeping is purged: timers that fired, were cancelled or gave up; outbox actions sent,
cancelled or dead; console sessions that ended. A pending timer, an unsent (pending or sending)
action, and the records kept as evidence or for learning (consent ledger, audit log, decisions
and outcomes, contact log, journeys, cases and calls) are never touched here. Each kind has a
default age (``KINDS``); ``keep`` turns a kind off. Rows go in batches of ``BATCH``, one short
write transaction each (by hand: :func:`purge`; daily: :func:`sweep`, a timer per batch), so a
large backlog never holds SQLite's write lock for long.

A deleted timer's ``key`` can be scheduled again: the keys in use (the daily run's date, a
decided action's response window, whose outcome is unique anyway) are never rescheduled weeks
after their timer fired.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
import yaml
from sqlalchemy import ColumnElement, Connection, Engine, Table, and_, delete, func, or_, select

from bestnext.access.users_tables import console_sessions
from bestnext.channels.model import Status
from bestnext.channels.tables import outbox
from bestnext.db import read
from bestnext.errors import ConfigInvalid
from bestnext.privacy.retention import Rule, period
from bestnext.timers import store as timer_store
from bestnext.timers.model import TimerStatus
from bestnext.timers.tables import timers

log = structlog.get_logger(__name__)

BATCH = 200  # rows per delete: ~20 ms of SQLite's write lock (500 rows: ~120 ms), ~15 ms on PostgreSQL


@dataclass(frozen=True, slots=True)
class Age:
    """How long a finished row is kept: ``amount`` ``unit`` (day, week, month, year)."""

    amount: int
    unit: str

    def cutoff(self, now: datetime) -> datetime:
        """Rows finished before this instant go.

        >>> from datetime import UTC, datetime
        >>> Age(30, "day").cutoff(datetime(2026, 3, 31, tzinfo=UTC)).date().isoformat()
        '2026-03-01'
        """
        return Rule("", self.amount, self.unit).cutoff(now)


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of bookkeeping row: its table, when it is finished before ``cutoff``, its default."""

    name: str
    table: Table
    default: Age
    finished_before: Callable[[datetime], ColumnElement[bool]]


def _timers(status: TimerStatus, *columns: str) -> Callable[[datetime], ColumnElement[bool]]:
    return lambda cutoff: and_(timers.c.status == status.value, *(timers.c[c] < cutoff for c in columns))


def _outbox(status: Status, *columns: str) -> Callable[[datetime], ColumnElement[bool]]:
    return lambda cutoff: and_(outbox.c.status == status.value, *(outbox.c[c] < cutoff for c in columns))


def _sessions(cutoff: datetime) -> ColumnElement[bool]:
    return or_(console_sessions.c.ended_at < cutoff, console_sessions.c.expires_at < cutoff)


# A cancelled or failed row has no "finished at" column: its due/next-attempt times are at or
# after the moment it finished (a pending row is cancelled before it is due; a failed timer's
# due_at is its next retry), so requiring all of them to be older never deletes a young row.
_WHEN = ("created_at", "due_at", "next_attempt_at")
KINDS: tuple[Kind, ...] = (
    # A timer fires after it is due, an action is sent after its next attempt is due: these
    # bounds lose nothing and let the (status, due time) indexes skip the young rows (a daily
    # batch with nothing old to delete stays ~1 ms instead of scanning every done row).
    Kind("fired_timers", timers, Age(30, "day"), _timers(TimerStatus.DONE, "due_at", "fired_at")),
    Kind("cancelled_timers", timers, Age(30, "day"), _timers(TimerStatus.CANCELLED, "created_at", "due_at")),
    Kind("failed_timers", timers, Age(90, "day"), _timers(TimerStatus.FAILED, "created_at", "due_at")),
    Kind("sent_messages", outbox, Age(13, "month"), _outbox(Status.SENT, "next_attempt_at", "sent_at")),
    Kind("cancelled_messages", outbox, Age(90, "day"), _outbox(Status.CANCELLED, *_WHEN)),
    Kind("dead_messages", outbox, Age(90, "day"), _outbox(Status.DEAD, *_WHEN)),
    Kind("ended_sessions", console_sessions, Age(30, "day"), _sessions),
)
_BY_NAME = {k.name: k for k in KINDS}
DEFAULTS: dict[str, Age | None] = {k.name: k.default for k in KINDS}

Policy = Mapping[str, Age | None]  # kind -> age kept (None: kept for ever)


def parse_policy(doc: Any) -> dict[str, Age | None]:
    """The ages of the ``housekeeping:`` section, the defaults for the kinds it does not name.

    >>> parse_policy({"housekeeping": {"fired_timers": "7 days", "sent_messages": "keep"}})["fired_timers"]
    Age(amount=7, unit='day')
    >>> parse_policy({"events": {}}) == DEFAULTS
    True
    """
    section = doc.get("housekeeping") if isinstance(doc, dict) else None
    if section is None:
        return dict(DEFAULTS)
    if not isinstance(section, dict):
        raise ConfigInvalid("retention.yaml: 'housekeeping' must be a mapping: kind -> age "
                            "(e.g. fired_timers: 30 days).")
    ages = dict(DEFAULTS)
    for name, value in section.items():
        if name not in _BY_NAME:
            raise ConfigInvalid(f"retention.yaml: housekeeping.{name} is not a kind of housekeeping "
                                f"(kinds: {', '.join(_BY_NAME)}).")
        ages[name] = _age(f"housekeeping.{name}", value)
    return ages


def _age(field: str, value: Any) -> Age | None:
    if isinstance(value, str) and value.strip().lower() == "keep":
        return None
    parsed = period(str(value))
    if parsed is None or parsed[0] < 1:
        raise ConfigInvalid(f"retention.yaml: {field}: '{value}' is not an age like '30 days' "
                            "(at least 1) or 'keep'.")
    return Age(*parsed)


def load_policy(config_dir: Path) -> dict[str, Age | None]:
    """The bank's policy (the defaults without a ``retention.yaml``)."""
    path = config_dir / "retention.yaml"
    if not path.exists():
        return dict(DEFAULTS)
    return parse_policy(yaml.safe_load(path.read_text(encoding="utf-8")))


def _active(policy: Policy, now: datetime) -> list[tuple[Kind, datetime]]:
    return [(kind, age.cutoff(now)) for kind in KINDS if (age := policy.get(kind.name)) is not None]


def count(conn: Connection, policy: Policy, now: datetime) -> dict[str, int]:
    """How many rows of each kind (not kept for ever) are old enough to go."""
    return {kind.name: int(conn.execute(select(func.count()).select_from(kind.table)
                                        .where(kind.finished_before(cutoff))).scalar_one())
            for kind, cutoff in _active(policy, now)}


def delete_batch(conn: Connection, kind: Kind, cutoff: datetime, limit: int | None = None) -> int:
    """Delete up to ``limit`` (default ``BATCH``) rows of ``kind`` finished before ``cutoff``;
    returns how many."""
    (key,) = kind.table.primary_key.columns
    oldest = select(key).where(kind.finished_before(cutoff)).limit(limit or BATCH)
    return int(conn.execute(delete(kind.table).where(key.in_(oldest))).rowcount)


def step(conn: Connection, policy: Policy, now: datetime, limit: int | None = None) -> tuple[dict[str, int], bool]:
    """Delete at most ``limit`` (default ``BATCH``) rows in ``conn``'s transaction, kind after
    kind; returns the counts and whether the budget ran out (there may be more)."""
    budget = limit or BATCH
    counts: dict[str, int] = {}
    for kind, cutoff in _active(policy, now):
        if budget == 0:
            return counts, True
        counts[kind.name] = deleted = delete_batch(conn, kind, cutoff, budget)
        budget -= deleted
    return counts, budget == 0


def purge(engine: Engine, policy: Policy, now: datetime, limit: int | None = None) -> dict[str, int]:
    """Delete every kind's old rows, one transaction per batch; returns the counts per kind."""
    limit, sqlite = limit or BATCH, engine.dialect.name == "sqlite"
    totals: dict[str, int] = {}
    for kind, cutoff in _active(policy, now):
        totals[kind.name] = 0
        while True:
            started = time.perf_counter()
            with engine.begin() as conn:
                deleted = delete_batch(conn, kind, cutoff, limit)
            totals[kind.name] += deleted
            if deleted < limit:
                break
            if sqlite:  # the writers waiting for the lock get at least as long as a batch took
                time.sleep(time.perf_counter() - started)
    return totals


def run(container: Any, dry_run: bool = False) -> dict[str, int]:
    """Purge (or, dry, count) at ``container.clock.now()`` with the bank's policy."""
    policy, now = load_policy(container.settings.config_dir), container.clock.now()
    if dry_run:
        with read(container.engine) as conn:
            return count(conn, policy, now)
    return purge(container.engine, policy, now)


TIMER_KIND = "privacy.housekeeping"
AGAIN = timedelta(seconds=0.25)  # the next batch of a backlog, as a timer: other timers run between


def sweep(conn: Connection, policy: Policy, now: datetime, totals: Mapping[str, int] | None = None) -> dict[str, int]:
    """One batch (``BATCH`` rows at most, kind after kind) in a timer's transaction (the daily
    run's, then its own); while a batch comes back full, the next one is a timer due ``AGAIN``
    later carrying the totals."""
    counts, more = step(conn, policy, now)
    totals = {name: int(n) for name, n in (totals or {}).items()}
    for name, n in counts.items():
        totals[name] = totals.get(name, 0) + n
    if more:
        timer_store.schedule(conn, TIMER_KIND, now + AGAIN, {"totals": totals}, now=now)
    else:
        log.info("housekeeping_done", deleted=totals)
    return totals


def install_timer(container: Any) -> None:
    """Register the handler of the batches after the first (the daily run does the first)."""

    def fire(conn: Connection, timer: Any) -> None:
        sweep(conn, load_policy(container.settings.config_dir), container.clock.now(), timer.payload.get("totals"))

    container.service("timers").register(TIMER_KIND, fire)
