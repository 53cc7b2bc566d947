"""Group commit: concurrent requests share one durable commit.

Each request waits until the transaction holding its events has committed, so "acknowledged"
still means "durable"; but N requests arriving together cost one fsync instead of N. The
first waiting request becomes the leader, takes every request queued so far, writes them in
one transaction and wakes the others (a leader/follower queue, as databases do for their WAL).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine

T = TypeVar("T")
MAX_GROUP = 64  # requests in one transaction (~6,400 events with batches of 100)


@dataclass(eq=False)
class _Pending(Generic[T]):
    work: Callable[[Connection], T]
    done: threading.Event = field(default_factory=threading.Event)
    result: T | None = None
    error: BaseException | None = None


class GroupCommitter:
    """Runs ``work(conn)`` callables in shared transactions; each caller gets its own result."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: list[_Pending[object]] = []
        self._queue_lock = threading.Lock()
        self._writer = threading.Lock()

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a transaction that has committed when this returns (or raises)."""
        pending: _Pending[T] = _Pending(work)
        with self._queue_lock:
            self._queue.append(pending)  # type: ignore[arg-type]
        while not pending.done.is_set():
            with self._writer:
                if not pending.done.is_set():
                    self._lead()
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[return-value]

    def _lead(self) -> None:
        with self._queue_lock:
            group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
        try:
            with self.engine.begin() as conn:
                for item in group:
                    item.result = item.work(conn)
        except BaseException as exc:  # noqa: BLE001 - every waiter must learn its request failed
            for item in group:
                item.result, item.error = None, exc
        finally:
            for item in group:
                item.done.set()
