"""Firing due timers, and the loop that hosts it in ``serve`` and ``worker --role timers``."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, Engine

from bestnext.clock import Clock
from bestnext.db import read
from bestnext.timers import store
from bestnext.timers.model import Timer

log = structlog.get_logger(__name__)

Handler = Callable[[Connection, Timer], None]
MAX_ATTEMPTS = 5


class TimerService:
    """Fires due timers through the handler registered for their ``kind``."""

    def __init__(self, engine: Engine, clock: Clock, batch_size: int = 200) -> None:
        self.engine, self.clock, self.batch_size = engine, clock, batch_size
        self.handlers: dict[str, Handler] = {}
        self.wakeup = threading.Event()
        follow_merges()

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    def next_due(self) -> datetime | None:
        with read(self.engine) as conn:
            return store.next_due(conn)

    def fire_due(self) -> int:
        """Fire every timer due now; returns how many fired."""
        fired = 0
        while True:
            step = self._fire_batch()
            fired += step
            if step < self.batch_size:
                return fired

    def _fire_batch(self) -> int:
        now = self.clock.now()
        failed: list[tuple[Timer, str]] = []
        with self.engine.begin() as conn:
            batch = store.claim_due(conn, now, self.batch_size)
            done: list[str] = []
            for timer in batch:
                try:
                    with conn.begin_nested():
                        self._handle(conn, timer)
                    done.append(timer.id)
                except Exception as exc:  # one bad timer must not block the others
                    log.exception("timer_failed", kind=timer.kind, timer=timer.id)
                    failed.append((timer, f"{type(exc).__name__}: {exc}"))
            store.mark_done(conn, done, now)
            for timer, error in failed:
                retry_at = now + timedelta(seconds=30 * 2 ** timer.attempts)
                store.mark_retry(conn, timer, retry_at, error, give_up=timer.attempts + 1 >= MAX_ATTEMPTS)
        return len(batch) - len(failed)

    def _handle(self, conn: Connection, timer: Timer) -> None:
        handler = self.handlers.get(timer.kind)
        if handler is None:
            raise LookupError(f"no handler for timer kind {timer.kind!r}")
        handler(conn, timer)


def follow_merges() -> None:
    """Make a person's timers follow identity merges (idempotent; nothing without identity)."""
    try:
        hooks: Any = importlib.import_module("bestnext.identity.hooks")
    except ImportError:
        return
    hooks.on_merge(store.move_person)


class TimerLoop:
    """A daemon thread firing due timers; sleeps until the next due time (at most ``poll`` s)."""

    def __init__(self, service: TimerService, poll: float = 0.25) -> None:
        self.service, self.poll = service, poll
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="bestnext-timers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.service.wakeup.set()
        if self._thread:
            self._thread.join(timeout=10)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.service.fire_due()
                wait = self._wait_seconds()
            except Exception:
                log.exception("timer_loop_failed")
                wait = self.poll
            self.service.wakeup.wait(wait)
            self.service.wakeup.clear()

    def _wait_seconds(self) -> float:
        due = self.service.next_due()
        if due is None:
            return self.poll
        return max(0.0, min(self.poll, (due - self.service.clock.now()).total_seconds()))
