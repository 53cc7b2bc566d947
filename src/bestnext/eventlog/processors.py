"""Processors read the log in offset order and store their checkpoint in the same
transaction as their effects: a crash replays a little and duplicates nothing.

Processors form a pipeline: processor *i* never reads past processor *i-1*'s checkpoint,
so identity resolution (the first) has attributed every event a later processor sees.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

import structlog
from sqlalchemy import Connection, Engine

from bestnext.eventlog import store, wake
from bestnext.eventlog.model import LoggedEvent

log = structlog.get_logger(__name__)


class Processor(Protocol):
    name: str

    def handle(self, conn: Connection, batch: Sequence[LoggedEvent]) -> None:
        """Apply the effects of ``batch`` using ``conn`` (inside the caller's transaction)."""
        ...


class Notifier:
    """Wakes the processors when something was appended.

    In-process writers call :meth:`notify`; a :mod:`~bestnext.eventlog.wake` watcher calls it
    with its reason when another process committed. :meth:`wait` says why it woke.
    """

    LOCAL = "local"

    def __init__(self) -> None:
        self._event = threading.Event()
        self._reason: str | None = None

    def notify(self, reason: str = LOCAL) -> None:
        self._reason = reason
        self._event.set()

    def wait(self, timeout: float) -> str | None:
        """Block until notified (returns the reason of the last notification) or ``timeout`` s
        passed (returns None)."""
        woke = self._event.wait(timeout)
        self._event.clear()
        reason, self._reason = self._reason, None
        return reason if woke else None


class Pipeline:
    """Runs processors in order until they have caught up with the log."""

    def __init__(self, engine: Engine, processors: Sequence[Processor], batch_size: int = 500) -> None:
        self.engine = engine
        self.processors = list(processors)
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def run_until_idle(self) -> int:
        """Process everything appended so far; returns how many (event, processor) pairs ran."""
        done = 0
        with self._lock:
            while True:
                step = self._one_round()
                done += step
                if step == 0:
                    return done

    def _one_round(self) -> int:
        done = 0
        upstream: int | None = None
        for proc in self.processors:
            with self.engine.begin() as conn:
                start = store.checkpoint(conn, proc.name)
                limit = upstream if upstream is not None else store.head(conn)
                batch = store.read_after(conn, start, self.batch_size, upto=limit)
                if batch:
                    proc.handle(conn, batch)
                    store.save_checkpoint(conn, proc.name, batch[-1].seq)
                    done += len(batch)
                upstream = batch[-1].seq if batch else start
        return done


class BackgroundRunner:
    """Runs a pipeline in a daemon thread, woken by the notifier (and every ``poll`` s).

    With ``cross_process`` (the default) it also watches the database, so that a commit of
    another process (``serve --no-workers`` and separate workers) wakes it at once:
    ``LISTEN/NOTIFY`` on PostgreSQL, ``PRAGMA data_version`` on SQLite (:mod:`.wake`).
    """

    def __init__(self, pipeline: Pipeline, notifier: Notifier, poll: float = 1.0,
                 cross_process: bool = True) -> None:
        self.pipeline, self.notifier, self.poll = pipeline, notifier, poll
        self.watcher = wake.watcher(pipeline.engine, notifier) if cross_process else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.watcher is not None:
            self.watcher.start()
        self._thread = threading.Thread(target=self._loop, name="bestnext-processors", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.notifier.notify()
        if self.watcher is not None:
            self.watcher.stop()
        if self._thread:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.pipeline.run_until_idle()
            except Exception:  # a processor failure must not kill the thread; it retries
                log.exception("processor_failed")
                self._stop.wait(self.poll)
            self.notifier.wait(self.poll)
