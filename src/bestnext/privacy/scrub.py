"""After the erasure of a person, other people's documents may still name them (a co-holder's
customer number in a joint account's event, a household list in a profile). This pass replaces
the erased identifiers inside every JSON column of every table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, Connection, String, Table, cast, or_, select, update

from bestnext.db import metadata

ERASED = "[erased]"
MIN_LENGTH = 5  # shorter values would match unrelated text


def _replace(value: Any, needles: list[str]) -> Any:
    """``value`` with every needle replaced inside strings (keys included).

    >>> _replace({"holders": ["C100234", "C100235"], "C100234": 1}, ["C100234"])
    {'holders': ['[erased]', 'C100235'], '[erased]': 1}
    """
    if isinstance(value, dict):
        return {_replace(k, needles): _replace(v, needles) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, needles) for v in value]
    if isinstance(value, str):
        for needle in needles:
            value = value.replace(needle, ERASED)
    return value


def _json_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if isinstance(c.type, JSON)]


def scrub(conn: Connection, values: Iterable[str]) -> int:
    """Replace ``values`` in every JSON column; returns how many rows changed."""
    needles = sorted({v for v in values if len(v) >= MIN_LENGTH}, key=len, reverse=True)
    if not needles:
        return 0
    changed = 0
    for table in metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        for column in _json_columns(table):
            col = table.c[column]
            found = conn.execute(select(*pk, col).where(
                or_(*(cast(col, String).contains(n, autoescape=True) for n in needles)))).all()
            for row in found:
                conn.execute(update(table).where(*(c == row._mapping[c.name] for c in pk))
                             .values({column: _replace(row._mapping[column], needles)}))
                changed += 1
    return changed
