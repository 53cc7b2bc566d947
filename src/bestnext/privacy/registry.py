"""Every context tells privacy how to export and erase what it holds on a person.

``register(name, export, erase, tables=(...))`` names the tables a contributor covers.
Tables with a ``person_id`` column that no contributor claims are covered by a generic
contributor (export the rows, delete them); tables without personal data are declared with
``not_personal``. :func:`uncovered` lists the tables that are neither: a test keeps it empty,
so export and erasure are complete by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, MetaData, Table, delete, select

ExportFn = Callable[[Connection, str], dict[str, Any]]
EraseFn = Callable[[Connection, str], None]


@dataclass(frozen=True, slots=True)
class Contributor:
    name: str
    export: ExportFn
    erase: EraseFn
    tables: tuple[str, ...] = ()


_contributors: dict[str, Contributor] = {}
_not_personal: set[str] = set()


def register(name: str, export: ExportFn, erase: EraseFn, tables: tuple[str, ...] = ()) -> None:
    """Register (or replace) a context's export and erase functions."""
    _contributors[name] = Contributor(name, export, erase, tables)


def not_personal(*tables: str) -> None:
    """Declare tables that hold no personal data (checkpoints, keys, tombstones...)."""
    _not_personal.update(tables)


def child_rows(child: str, column: str, parent: str, parent_column: str = "id") -> None:
    """Declare ``child.column -> parent.parent_column`` where the parent row carries
    ``person_id``: the child rows are exported and erased with the person (before the parent).
    """
    def _where(conn: Connection, person_id: str) -> tuple[Table, Any]:
        table, up = _table(child), _table(parent)
        keys = select(up.c[parent_column]).where(up.c.person_id == person_id)
        return table, table.c[column].in_(keys)

    def export(conn: Connection, person_id: str) -> dict[str, Any]:
        table, where = _where(conn, person_id)
        return {child: [dict(r._mapping) for r in conn.execute(select(table).where(where))]}

    def erase(conn: Connection, person_id: str) -> None:
        table, where = _where(conn, person_id)
        conn.execute(delete(table).where(where))

    register(f"rows:{child}", export, erase, (child,))


def _table(name: str) -> Table:
    from bestnext.db import metadata

    return metadata.tables[name]


def _by_person(table: Table) -> Contributor:
    def export(conn: Connection, person_id: str) -> dict[str, Any]:
        rows = conn.execute(select(table).where(table.c.person_id == person_id))
        return {table.name: [dict(r._mapping) for r in rows]}

    def erase(conn: Connection, person_id: str) -> None:
        conn.execute(delete(table).where(table.c.person_id == person_id))

    return Contributor(f"table:{table.name}", export, erase, (table.name,))


def contributors(metadata: MetaData) -> list[Contributor]:
    """Registered contributors, then a generic one per unclaimed ``person_id`` table."""
    claimed = {t for c in _contributors.values() for t in c.tables} | _not_personal
    generic = [_by_person(t) for name, t in sorted(metadata.tables.items())
               if name not in claimed and "person_id" in t.c]
    return [*_contributors.values(), *generic]


def uncovered(metadata: MetaData) -> list[str]:
    """Tables nobody exports/erases and nobody declared free of personal data."""
    covered = {t for c in contributors(metadata) for t in c.tables} | _not_personal
    return sorted(set(metadata.tables) - covered)
