"""The background duties of a process, by role: one list that ``bestnext serve`` (all roles)
and ``bestnext worker --role ROLE`` (one role) both start, so that ``serve --no-workers`` plus
one worker per role runs every duty, and no duty exists in only one of the two modes.

=============  ===============================================================================
role           duties
=============  ===============================================================================
processors     the event pipeline (identity, profiles, consent, channels, decisions, journeys),
               under a leader lock on PostgreSQL: one process runs it, the others stand by
timers         the daily retention sweep (handler + next run scheduled), then the timer loop
               (journey wake-ups, ignored-offer windows, retention)
dispatch       the outbox dispatcher (consent/contact re-check, sends, call escalation)
=============  ===============================================================================

Several processes may run the same role. Timers are claimed with ``FOR UPDATE SKIP LOCKED``
(SQLite: one writer at a time), the retention run is one timer per day (a key), outbox actions
are leased: each fires or is sent once. The pipeline reads a processor's checkpoint and writes
its effects in one transaction, which is serial on SQLite but not on PostgreSQL: there only the
process holding the ``processors`` advisory lock runs it, and another one takes over when that
process (or its lock connection) goes away.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import structlog
from sqlalchemy import Connection, Engine, text

if TYPE_CHECKING:
    from bestnext.bootstrap import Container

log = structlog.get_logger(__name__)

ROLES = ("processors", "timers", "dispatch")


class Duty(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for a PostgreSQL advisory lock named ``name``.

    >>> lock_key("processors") == lock_key("processors") != lock_key("timers")
    True
    """
    return int.from_bytes(hashlib.sha256(f"bestnext:{name}".encode()).digest()[:8], "big", signed=True)


class Leader:
    """Runs a duty only while this process holds the advisory lock ``name`` (PostgreSQL);
    waits for it otherwise, and stops the duty if the lock's connection is lost (a new duty is
    made by ``make`` each time it leads). On SQLite the duty just runs: its write transactions
    are serial across processes."""

    def __init__(self, engine: Engine, name: str, make: Callable[[], Duty], check: float = 1.0) -> None:
        self.engine, self.name, self.make, self.check = engine, name, make, check
        self.leading = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._duty: Duty | None = None

    def start(self) -> None:
        if self.engine.dialect.name != "postgresql":
            self._duty = self.make()
            self._duty.start()
            self.leading.set()
            return
        self._thread = threading.Thread(target=self._run, name=f"bestnext-leader-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
        elif self._duty is not None:
            self._duty.stop()
            self.leading.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            conn = self.engine.connect()
            try:
                if self._try_lock(conn):
                    self._lead(conn)
            except Exception:  # a lost connection: the lock is gone with it; try again
                log.exception("leader_lock_lost", duty=self.name)
                conn.invalidate()  # never hand a connection that may hold the lock back to the pool
            finally:
                conn.close()
            self._stop.wait(self.check)

    def _try_lock(self, conn: Connection) -> bool:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock_key(self.name)}).scalar_one()
        conn.commit()
        return bool(got)

    def _lead(self, conn: Connection) -> None:
        log.info("leader_acquired", duty=self.name)
        duty = self.make()
        duty.start()
        self.leading.set()
        try:
            while not self._stop.wait(self.check):
                conn.execute(text("SELECT 1"))  # raises when the lock's session is gone
                conn.commit()
        finally:
            self.leading.clear()
            duty.stop()
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(self.name)})
        conn.commit()


class DailyRetention:
    """Registers the retention handler and schedules the next daily run (idempotent)."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def start(self) -> None:
        from bestnext.privacy import retention

        retention.start_daily(self.container)

    def stop(self) -> None:
        return None


def _processors(c: Container) -> list[Duty]:
    from bestnext.eventlog import BackgroundRunner

    return [Leader(c.engine, "processors", lambda: BackgroundRunner(c.pipeline, c.notifier))]


def _timers(c: Container) -> list[Duty]:
    from bestnext.timers.service import TimerLoop

    return [DailyRetention(c), TimerLoop(c.service("timers"))]


def _dispatch(c: Container) -> list[Duty]:
    from bestnext.channels.background import DispatchThread

    return [DispatchThread(c)]


_BY_ROLE: dict[str, Callable[[Container], list[Duty]]] = {
    "processors": _processors, "timers": _timers, "dispatch": _dispatch}


class Background:
    """The duties of ``roles`` for ``container``: started in order, stopped in reverse."""

    def __init__(self, container: Container, roles: Sequence[str] = ROLES) -> None:
        unknown = sorted(set(roles) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown worker roles {unknown} (one of {', '.join(ROLES)})")
        self.roles = tuple(roles)
        self.duties = [duty for role in self.roles for duty in _BY_ROLE[role](container)]

    def start(self) -> None:
        for duty in self.duties:
            duty.start()

    def stop(self) -> None:
        for duty in reversed(self.duties):
            duty.stop()


__all__ = ["ROLES", "Background", "DailyRetention", "Duty", "Leader", "lock_key"]
