"""Group commit on a real database: every caller's work is committed when it returns, a
failing group fails every caller in it, and concurrent callers share transactions."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Connection, text

from bestnext.bootstrap import Container
from bestnext.writer import GroupCommitter


def test_concurrent_callers_are_all_committed(container: Container) -> None:
    committer = GroupCommitter(container.engine)
    with container.engine.begin() as conn:
        conn.execute(text("CREATE TABLE gc_probe (n INTEGER PRIMARY KEY)"))
    results: dict[int, int] = {}

    def work(n: int) -> None:
        def insert(conn: Connection) -> int:
            conn.execute(text("INSERT INTO gc_probe (n) VALUES (:n)"), {"n": n})
            return n * 10

        results[n] = committer.run(insert)
        with container.engine.connect() as other:  # visible to another connection: committed
            assert other.execute(text("SELECT count(*) FROM gc_probe WHERE n = :n"), {"n": n}).scalar() == 1

    threads = [threading.Thread(target=work, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {n: n * 10 for n in range(40)}


def test_a_failure_rolls_back_and_is_raised(container: Container) -> None:
    committer = GroupCommitter(container.engine)
    with container.engine.begin() as conn:
        conn.execute(text("CREATE TABLE gc_fail (n INTEGER PRIMARY KEY)"))

    def boom(conn: Connection) -> None:
        conn.execute(text("INSERT INTO gc_fail (n) VALUES (1)"))
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        committer.run(boom)
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM gc_fail")).scalar() == 0
