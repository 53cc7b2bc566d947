"""Filters that may refuse events at append time (e.g. privacy's tombstones of erased people).

A filter is ``fn(conn, events) -> events to keep``; :func:`bestnext.eventlog.store.append`
runs every registered filter before inserting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection

from bestnext.eventlog.model import NewEvent

AdmissionFilter = Callable[[Connection, Sequence[NewEvent]], list[NewEvent]]

_filters: list[AdmissionFilter] = []


def register(fn: AdmissionFilter) -> None:
    if fn not in _filters:
        _filters.append(fn)


def admit(conn: Connection, new: Sequence[NewEvent]) -> Sequence[NewEvent]:
    for fn in _filters:
        if not new:
            break
        new = fn(conn, new)
    return new
