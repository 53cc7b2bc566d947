"""What the benchmarks share: scratch databases, percentiles, a process's CPU time."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Engine

from bestnext.db import create_db_engine
from bestnext.migrate import upgrade

T = TypeVar("T")

PG_ADMIN = os.environ.get("BESTNEXT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def fresh_sqlite(path: Path) -> str:
    """The URL of an empty SQLite database at ``path`` (an old file and its WAL removed)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def pg_database(prefix: str = "bestnext_bench") -> tuple[str, Callable[[], None]]:
    """A new, empty PostgreSQL database: its SQLAlchemy URL and the function that drops it."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    host = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{host}/{name}", drop


@contextmanager
def scratch_pg(prefix: str = "bestnext_bench") -> Iterator[str]:
    """:func:`pg_database` as a context: dropped on the way out, whatever happened."""
    url, drop = pg_database(prefix)
    try:
        yield url
    finally:
        drop()


def on_both(sqlite_path: Path, measure: Callable[[str], T], prefix: str = "bestnext_bench") -> dict[str, Any]:
    """``measure(url)`` on a fresh migrated SQLite database, then on a scratch PostgreSQL one
    (``{"error": ...}`` there when PostgreSQL is not reachable)."""
    url = fresh_sqlite(sqlite_path)
    with_engine(url, upgrade)
    results: dict[str, Any] = {"sqlite": measure(url)}
    try:
        pg_url, drop = pg_database(prefix)
    except psycopg.OperationalError as exc:
        results["postgresql"] = {"error": f"PostgreSQL unavailable: {exc}"}
        return results
    try:
        with_engine(pg_url, upgrade)
        results["postgresql"] = measure(pg_url)
    finally:
        drop()
    return results


def with_engine(url: str, fn: Callable[[Engine], T]) -> T:
    """``fn`` with an engine of ``url``, disposed afterwards."""
    engine = create_db_engine(url)
    try:
        return fn(engine)
    finally:
        engine.dispose()


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank; NaN for no values).

    >>> percentile([3.0, 1.0, 2.0, 4.0], 0.5), percentile([1.0, 2.0], 0.99)
    (3.0, 2.0)
    """
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
