"""Listeners that keep other contexts' ``person_id`` rows following the person.

Every context that stores ``person_id`` registers once per process::

    hooks.on_merge(fn)    # fn(conn, survivor_id, absorbed_id)
    hooks.on_merges(fn)   # fn(conn, [(survivor_id, absorbed_id), ...]): a batch's merges at once
    hooks.on_split(fn)    # fn(conn, original_id, new_id, moved_seqs)

Identity calls them inside the transaction of the merge or un-merge. The identity processor
calls the merge listeners once per batch, after the batch's merges are written, with the
merges in the order they happened (a listener that moves its rows pair by pair ends where it
would have ended had it been called after each merge).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection

MergeListener = Callable[[Connection, str, str], None]
MergesListener = Callable[[Connection, Sequence[tuple[str, str]]], None]
SplitListener = Callable[[Connection, str, str, Sequence[int]], None]

_merge: list[MergeListener] = []
_merges: list[MergesListener] = []
_split: list[SplitListener] = []


def on_merge(fn: MergeListener) -> MergeListener:
    """Register ``fn(conn, survivor_id, absorbed_id)`` (idempotent); returns ``fn``."""
    if fn not in _merge:
        _merge.append(fn)
    return fn


def on_merges(fn: MergesListener) -> MergesListener:
    """Register ``fn(conn, pairs)``, called with several (survivor, absorbed) pairs in merge
    order (idempotent); returns ``fn``."""
    if fn not in _merges:
        _merges.append(fn)
    return fn


def on_split(fn: SplitListener) -> SplitListener:
    """Register ``fn(conn, original_id, new_id, moved_seqs)`` (idempotent); returns ``fn``."""
    if fn not in _split:
        _split.append(fn)
    return fn


def merged(conn: Connection, survivor_id: str, absorbed_id: str) -> None:
    merged_all(conn, [(survivor_id, absorbed_id)])


def merged_all(conn: Connection, pairs: Sequence[tuple[str, str]]) -> None:
    """Tell every listener about ``pairs`` (survivor, absorbed), in the order they merged."""
    if not pairs:
        return
    for fn in list(_merge):
        for survivor_id, absorbed_id in pairs:
            fn(conn, survivor_id, absorbed_id)
    for many in list(_merges):
        many(conn, pairs)


def split(conn: Connection, original_id: str, new_id: str, moved_seqs: Sequence[int]) -> None:
    for fn in list(_split):
        fn(conn, original_id, new_id, moved_seqs)
