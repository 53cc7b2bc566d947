"""Wires the journey engine into a container: its processor, its timer handler, merge hooks."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from bestnext.journeys import store
from bestnext.journeys.engine import WAKE, JourneyEngine, JourneysProcessor

if TYPE_CHECKING:
    from bestnext.bootstrap import Container

_HOOKED: list[bool] = []


def _on_merge(conn: Connection, survivor_id: str, absorbed_id: str) -> None:
    store.move_person(conn, absorbed_id, survivor_id)


def _install_hooks() -> None:
    if _HOOKED:
        return
    try:
        hooks: Any = importlib.import_module("bestnext.identity.hooks")
    except ImportError:
        return
    hooks.on_merge(_on_merge)
    _HOOKED.append(True)


def journeys_processor(container: Container) -> JourneysProcessor:
    """The journeys processor; also registers the ``journey.wake`` timer handler."""
    timers = container.service("timers")
    engine = JourneyEngine(container.settings.config_dir, container.clock, wake=timers.wakeup.set)
    timers.register(WAKE, engine.on_timer)
    container.services["journeys"] = engine
    _install_hooks()
    return JourneysProcessor(engine)
