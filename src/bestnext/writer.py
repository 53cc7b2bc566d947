"""Group commit: concurrent requests share one durable commit (ingest, the decision log).

A single writer thread owns the write connection (kept between groups). Requests hand it their work and wait (a
thread on a :class:`concurrent.futures.Future`, a coroutine on ``asyncio.wrap_future``) until
the transaction holding their events has committed, so "acknowledged" still means "durable";
but N requests arriving together cost one transaction and one fsync instead of N. While the
writer commits one group, the next group gathers (as databases do with their WAL).

A group that fails is retried one request per transaction, so one bad request fails alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

T = TypeVar("T")
MAX_GROUP = 64  # requests in one transaction (~6,400 events with ingest's batches of 100)
_Work = tuple[Callable[[Connection], Any], "Future[Any]"]


class GroupCommitter:
    """Runs ``work(conn)`` callables in shared transactions; each caller gets its own result.

    ``begin`` (optional) runs first in every transaction, e.g. to set its durability.
    """

    def __init__(self, engine: Engine, begin: Callable[[Connection], None] | None = None,
                 name: str = "group-commit") -> None:
        self.engine, self._begin, self._name = engine, begin, name
        self._queue: list[_Work] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._conn: Connection | None = None  # the writer thread's own, kept between groups

    def submit(self, work: Callable[[Connection], T]) -> Future[T]:
        """Queue ``work``; the future resolves once its transaction has committed."""
        future: Future[T] = Future()
        with self._ready:
            self._queue.append((work, future))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._ready.notify()
        return future

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a transaction that has committed when this returns (or raises)."""
        return self.submit(work).result()

    def _loop(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    if not self._ready.wait(timeout=30):
                        self._thread = None  # idle: a later submit starts a new writer
                        self._close()
                        return
                group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
            if not self._commit(group) and len(group) > 1:
                for item in group:  # find the culprit: each alone
                    self._commit([item])

    def _commit(self, group: list[_Work]) -> bool:
        """Run ``group`` in one transaction; resolve its futures unless it must be retried."""
        results: list[Any] = []
        try:
            conn = self._conn = self._conn or self.engine.connect()  # no pool checkout per group
            with conn.begin():
                if self._begin is not None:
                    self._begin(conn)
                results = [work(conn) for work, _future in group]
        except BaseException as exc:  # noqa: BLE001 - every waiter must learn its request failed
            self._close()  # a fresh connection for the next group
            if len(group) > 1:
                return False
            group[0][1].set_exception(exc)
            return True
        for (_work, future), result in zip(group, results, strict=True):
            future.set_result(result)
        return True

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a broken connection is dropped either way
                pass


def durable_commit(conn: Connection) -> None:
    """PostgreSQL: this transaction's commit waits for its WAL flush, whatever the default."""
    conn.exec_driver_sql("SET LOCAL synchronous_commit TO on")
