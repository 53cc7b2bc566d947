"""Storage plumbing shared by every context: one MetaData, engine creation and the few
places where SQLite and PostgreSQL differ (kept here, and only here)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Integer,
    MetaData,
    Table,
    TextClause,
    TypeDecorator,
    bindparam,
    create_engine,
    event,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from bestnext.clock import as_utc

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# An auto-incrementing 64-bit key that SQLite also treats as its rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes, stored in UTC on both databases."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


JsonDoc = JSON().with_variant(postgresql.JSONB(), "postgresql")


def create_db_engine(url: str, *, synchronous: str = "FULL", echo: bool = False) -> Engine:
    """Create the engine for ``url`` with the project's pragmas and transaction behaviour.

    SQLite runs in WAL mode; write transactions start with ``BEGIN IMMEDIATE`` so that two
    writers queue on the lock instead of failing on an upgrade deadlock.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, synchronous, echo)
    return create_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20,
        json_serializer=_json_dumps,
    )


def _sqlite_engine(url: str, synchronous: str, echo: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, echo=echo, json_serializer=_json_dumps,
        connect_args={"check_same_thread": False, "timeout": 60},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA secure_delete=ON")  # erased PII must not linger in free pages
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "DEFERRED" if conn.get_execution_options().get("readonly") else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction (does not take SQLite's write lock)."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        yield conn


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
                  keys: Sequence[str]) -> int:
    """Insert ``rows``, skipping those that clash on the unique ``keys``; returns rows inserted."""
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    pk = list(table.primary_key.columns)[0]
    # executemany rowcounts are unreliable across drivers; count the returned keys instead
    result = conn.execute(stmt.returning(pk), list(rows))
    return len(result.all())


def set_column(conn: Connection, table: Table, key: str, column: str,
               pairs: Sequence[tuple[Any, Any]]) -> None:
    """``UPDATE table SET column = value WHERE key = k`` for each (k, value) pair (distinct
    keys): one statement on PostgreSQL (the pairs as two arrays, unnested), an executemany
    elsewhere."""
    if not pairs:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(_set_column_pg(table, key, column, conn.dialect),
                     {"keys": [k for k, _ in pairs], "values": [v for _, v in pairs]})
        return
    stmt = (update(table).where(table.c[key] == bindparam("b_key"))
            .values({column: bindparam("b_value")}))
    conn.execute(stmt, [{"b_key": k, "b_value": v} for k, v in pairs])


def _set_column_pg(table: Table, key: str, column: str, dialect: Dialect) -> TextClause:
    types = [table.c[name].type.compile(dialect) for name in (key, column)]
    return text(f"UPDATE {table.name} SET {column} = v.value "  # noqa: S608 (names from the table)
                f"FROM unnest(CAST(:keys AS {types[0]}[]), CAST(:values AS {types[1]}[])) "
                f"AS v(key, value) WHERE {table.name}.{key} = v.key")


def upsert(conn: Connection, table: Table, row: dict[str, Any], keys: Sequence[str],
           update: Sequence[str]) -> None:
    """Insert ``row`` or update the ``update`` columns of the row with the same ``keys``."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: getattr(stmt.excluded, c) for c in update}
    )
    conn.execute(stmt)


__all__ = [
    "BigId",
    "JsonDoc",
    "UtcDateTime",
    "create_db_engine",
    "insert_ignore",
    "metadata",
    "read",
    "set_column",
    "upsert",
]
