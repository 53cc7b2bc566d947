"""Wake-ups across processes: a commit in one process wakes the processors of the others.

When ``bestnext serve --no-workers`` and separate ``bestnext worker`` processes share a
database, the in-process :class:`~bestnext.eventlog.processors.Notifier` reaches nobody. So:

- on PostgreSQL a writer calls :func:`announce` inside its transaction: ``NOTIFY`` is delivered
  to the listeners only when (and if) that transaction commits, once per transaction; every
  worker keeps a :class:`PgListener` (a connection doing ``LISTEN``) that wakes its notifier;
- on SQLite every process opens the same file: a :class:`SqliteWatcher` reads
  ``PRAGMA data_version`` (it changes when another connection commits) 40 times a second.

Polling stays the fallback of both: a lost connection, a missed notification or a writer that
does not announce costs at most the runner's poll interval.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Protocol

import psycopg
import structlog
from sqlalchemy import Connection, Engine

log = structlog.get_logger(__name__)

CHANNEL = "bestnext_wake"
EVENTS, OUTBOX = "events", "outbox"  # what was committed: the payload of the notification
TOPICS = frozenset({EVENTS, OUTBOX})
NOTIFICATION, DATA_VERSION = "notification", "data_version"  # the reasons a watcher wakes
_SENT = "bestnext_wake_sent"


class Wakeable(Protocol):
    def notify(self, reason: str = ...) -> None: ...


class Flag:
    """A :class:`threading.Event` as a watcher's target (a loop that waits on the event)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def notify(self, reason: str = "") -> None:
        self.event.set()


def announce(conn: Connection, topic: str = EVENTS) -> None:
    """Tell the other processes, on commit, that ``topic`` changed (PostgreSQL; no-op on SQLite).

    Sent once per transaction (PostgreSQL folds identical notifications of one transaction
    anyway, this saves the round trip) — or per savepoint: a rolled-back savepoint drops it.
    """
    if conn.dialect.name != "postgresql":
        return
    if topic not in TOPICS:
        raise ValueError(f"unknown wake topic {topic!r}")
    transaction = conn.get_nested_transaction() or conn.get_transaction()
    sent: dict[str, object] = conn.info.setdefault(_SENT, {})
    if transaction is not None and sent.get(topic) is transaction:
        return
    conn.exec_driver_sql(f"NOTIFY {CHANNEL}, '{topic}'")
    sent[topic] = transaction


class _Watcher:
    """A daemon thread that wakes ``target`` when another process committed."""

    reason = "remote"

    def __init__(self, engine: Engine, target: Wakeable, topics: frozenset[str] = frozenset({EVENTS})) -> None:
        self.engine, self.target, self.topics = engine, target, topics
        self.wakes = 0  # how many times this watcher woke its target
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()  # set once watching (listening / baseline read)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"bestnext-{self.reason}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _wake(self) -> None:
        self.wakes += 1
        self.target.notify(self.reason)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._watch()
            except Exception:  # the database went away: poll meanwhile, retry
                log.warning("wake_watcher_failed", watcher=self.reason, exc_info=True)
                self.ready.clear()
                self._stop.wait(RETRY_SECONDS)

    def _watch(self) -> None:
        raise NotImplementedError


RETRY_SECONDS = 2.0


class PgListener(_Watcher):
    """``LISTEN`` on a dedicated autocommit connection; each notification wakes the target."""

    reason = NOTIFICATION

    def _watch(self) -> None:
        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.ready.set()
            while not self._stop.is_set():
                for note in conn.notifies(timeout=STOP_CHECK_SECONDS):
                    if note.payload in self.topics:
                        self._wake()


STOP_CHECK_SECONDS = 0.5


class SqliteWatcher(_Watcher):
    """Reads ``PRAGMA data_version`` every ``interval`` s (a thread wake-up and one PRAGMA)."""

    reason = DATA_VERSION
    interval = 0.025  # 40 checks a second: ~0.5 % of a core idle (measured), 12 ms more on average

    def _watch(self) -> None:
        path = self.engine.url.database
        if not path or path == ":memory:":  # nothing to share with other processes
            self._stop.wait()
            return
        conn = sqlite3.connect(path, check_same_thread=False)
        try:
            seen = conn.execute("PRAGMA data_version").fetchone()[0]
            self.ready.set()
            while not self._stop.wait(self.interval):
                version = conn.execute("PRAGMA data_version").fetchone()[0]
                if version != seen:
                    seen = version
                    self._wake()
        finally:
            conn.close()


def watcher(engine: Engine, target: Wakeable) -> _Watcher:
    """The watcher of new events for ``engine``'s database (not started)."""
    return PgListener(engine, target) if engine.dialect.name == "postgresql" else SqliteWatcher(engine, target)


def listener(engine: Engine, target: Wakeable, topics: frozenset[str]) -> PgListener | None:
    """A listener of ``topics`` on PostgreSQL (not started); None on SQLite, where
    ``data_version`` cannot tell what was committed and the loop's poll is enough."""
    return PgListener(engine, target, topics) if engine.dialect.name == "postgresql" else None
