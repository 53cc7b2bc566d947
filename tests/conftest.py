"""Shared fixtures: real SQLite and PostgreSQL databases, a built container, a running server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine

from bestnext.bootstrap import Container, build
from bestnext.db import create_db_engine
from bestnext.migrate import upgrade
from bestnext.settings import Settings

PG_ADMIN = os.environ.get("BESTNEXT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_TEMPLATE = f"bestnext_tpl_{os.getpid()}"


def _pg_admin() -> psycopg.Connection:
    return psycopg.connect(PG_ADMIN, autocommit=True)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database used as the template of every test database."""
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_TEMPLATE}"')
        conn.execute(f'CREATE DATABASE "{_TEMPLATE}"')
    engine = create_db_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{_TEMPLATE}")
    upgrade(engine)
    engine.dispose()
    yield _TEMPLATE
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)')


def fresh_pg_url(template: str) -> str:
    name = f"bestnext_t_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_pg(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, migrated database URL: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "bestnext.db"
        url = f"sqlite:///{path}"
        engine = create_db_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    else:
        url = fresh_pg_url(request.getfixturevalue("pg_template"))
        yield url
        drop_pg(url)


@pytest.fixture
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh, migrated SQLite database only (for tests about SQLite itself)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'bestnext.db'}"
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def test_settings(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    var = tmp_path_factory.mktemp("var")
    return Settings(database_url=db_url, environment="test", var_dir=var, log_file=var / "bestnext.log")


@pytest.fixture
def container(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    """A container on a fresh database (both backends), with the real system clock."""
    built = build(test_settings(db_url, tmp_path_factory))
    yield built
    built.dispose()


@pytest.fixture
def engine(container: Container) -> Engine:
    return container.engine
