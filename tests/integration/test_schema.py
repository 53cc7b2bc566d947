"""The tables the code declares and the schema the migrations build must not drift apart."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

import bestnext.tables  # noqa: F401
from bestnext.db import metadata


def test_migrations_match_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == [], f"tables and migrations drifted: {diff}"


def test_every_declared_table_exists(engine: Engine) -> None:
    from sqlalchemy import inspect

    existing = set(inspect(engine).get_table_names())
    assert set(metadata.tables) <= existing
