"""Listeners that keep other contexts' ``person_id`` rows following the person.

Every context that stores ``person_id`` registers once per process::

    hooks.on_merge(fn)   # fn(conn, survivor_id, absorbed_id)
    hooks.on_split(fn)   # fn(conn, original_id, new_id, moved_seqs)

Identity calls them inside the transaction of the merge or un-merge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection

MergeListener = Callable[[Connection, str, str], None]
SplitListener = Callable[[Connection, str, str, Sequence[int]], None]

_merge: list[MergeListener] = []
_split: list[SplitListener] = []


def on_merge(fn: MergeListener) -> MergeListener:
    """Register ``fn(conn, survivor_id, absorbed_id)`` (idempotent); returns ``fn``."""
    if fn not in _merge:
        _merge.append(fn)
    return fn


def on_split(fn: SplitListener) -> SplitListener:
    """Register ``fn(conn, original_id, new_id, moved_seqs)`` (idempotent); returns ``fn``."""
    if fn not in _split:
        _split.append(fn)
    return fn


def merged(conn: Connection, survivor_id: str, absorbed_id: str) -> None:
    for fn in list(_merge):
        fn(conn, survivor_id, absorbed_id)


def split(conn: Connection, original_id: str, new_id: str, moved_seqs: Sequence[int]) -> None:
    for fn in list(_split):
        fn(conn, original_id, new_id, moved_seqs)
