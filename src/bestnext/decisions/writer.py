"""The decision log's group commit: decisions made together are logged in one transaction.

One writer thread owns the writes (and keeps its connection between groups). A request hands it its decision row and waits (a thread on
the :class:`~concurrent.futures.Future`, a coroutine on ``asyncio.wrap_future``) until the
transaction holding the row has committed, so a decision is durable before it is returned;
but N decisions arriving together cost one transaction and one fsync instead of N. A group
that fails is retried one row per transaction, so one bad row fails alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from sqlalchemy import Connection, Engine

MAX_GROUP = 256  # rows in one transaction
_Item = tuple[dict[str, Any], "Future[None]"]


class DecisionWriter:
    """Inserts decision rows with ``insert(conn, rows)`` in shared transactions.

    ``begin`` (optional) runs first in every transaction, e.g. to make its commit durable.
    """

    def __init__(self, engine: Engine, insert: Callable[[Connection, list[dict[str, Any]]], None],
                 begin: Callable[[Connection], None] | None = None) -> None:
        self.engine, self._insert, self._begin = engine, insert, begin
        self._queue: list[_Item] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._conn: Connection | None = None  # the writer thread's own, kept between groups

    def submit(self, row: dict[str, Any]) -> Future[None]:
        """Queue ``row``; the future resolves once its transaction has committed."""
        future: Future[None] = Future()
        with self._ready:
            self._queue.append((row, future))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="decision-log", daemon=True)
                self._thread.start()
            self._ready.notify()
        return future

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

    def _commit(self, group: list[_Item]) -> bool:
        """Insert ``group`` in one transaction; resolve its futures unless it must be retried."""
        try:
            conn = self._conn = self._conn or self.engine.connect()
            with conn.begin():
                if self._begin is not None:
                    self._begin(conn)
                self._insert(conn, [row for row, _ in group])
        except BaseException as exc:  # noqa: BLE001 - every waiter must learn its decision was not logged
            self._close()  # a fresh connection for the next group
            if len(group) > 1:
                return False
            group[0][1].set_exception(exc)
            return True
        for _row, future in group:
            future.set_result(None)
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


__all__ = ["DecisionWriter", "durable_commit"]
