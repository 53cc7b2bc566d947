"""Consent history follows the person through identity merges and un-merges."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from bestnext.consent import store

_installed = False


def on_merge(conn: Connection, survivor_id: str, absorbed_id: str) -> None:
    store.move_person(conn, absorbed_id, survivor_id)


def on_split(conn: Connection, original_id: str, new_id: str, moved_seqs: Sequence[int]) -> None:
    store.move_events(conn, original_id, new_id, moved_seqs)


def install() -> bool:
    """Register with ``identity.hooks`` (once per process); False while identity is absent."""
    global _installed
    if _installed:
        return True
    try:
        from bestnext.identity import hooks  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return False
    hooks.on_merge(on_merge)
    hooks.on_split(on_split)
    _installed = True
    return True
