"""Listeners told when a person withdraws a consent (e.g. the outbox cancels pending
marketing actions before dispatch).

A listener is ``fn(conn, person_id, purposes, at)``, called inside the transaction that
records the withdrawal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection

from bestnext.consent.model import Purpose

WithdrawnListener = Callable[[Connection, str, frozenset[Purpose], datetime], None]

_withdrawn: list[WithdrawnListener] = []


def on_withdrawn(fn: WithdrawnListener) -> WithdrawnListener:
    """Register ``fn`` (usable as a decorator); registering twice has no effect."""
    if fn not in _withdrawn:
        _withdrawn.append(fn)
    return fn


def withdrawn(conn: Connection, person_id: str, purposes: frozenset[Purpose], at: datetime) -> None:
    """Tell every listener that ``person_id`` withdrew ``purposes``."""
    for fn in list(_withdrawn):
        fn(conn, person_id, purposes, at)
