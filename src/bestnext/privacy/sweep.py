"""The second pass of an erasure, a few minutes after it.

On PostgreSQL a processor or dispatcher transaction that was already working for the person
when the erasure committed can still commit afterwards: an outbox action, a journey step, a
timer, a ``… Sent`` event for the erased person id. The erasure schedules this sweep (a timer
naming the person id, the only thing left that does); when it fires it runs every contributor's
erase again for that id — deleting what arrived late, and the sweep timer itself. The audit
record of the erasure stays (the ``audit`` contributor is skipped).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection

from bestnext.db import metadata
from bestnext.privacy import registry
from bestnext.timers import store as timers

log = structlog.get_logger(__name__)

TIMER_KIND = "privacy.erasure_sweep"
AFTER = timedelta(minutes=5)  # far longer than a processor batch or a send
KEEP = frozenset({"audit"})  # who erased whom, and when, is kept


def schedule(conn: Connection, person_id: str, at: datetime) -> None:
    """Sweep the person's rows again at ``at + AFTER`` (in the erasure's transaction)."""
    timers.schedule(conn, TIMER_KIND, at + AFTER, {}, now=at, person_id=person_id)


def sweep(conn: Connection, person_id: str) -> list[str]:
    """Erase ``person_id`` from every contributor but the audit log; returns their names."""
    from bestnext.privacy.services import install

    install()  # the contributors, in a process that has not erased anyone itself
    names = []
    for contributor in registry.contributors(metadata):
        if contributor.name not in KEEP:
            contributor.erase(conn, person_id)
            names.append(contributor.name)
    log.info("erasure_swept", person_id=person_id, contributors=len(names))
    return names


def install_timer(container: Any) -> None:
    """Register the sweep's handler with the container's timer service."""

    def fire(conn: Connection, timer: Any) -> None:
        if timer.person_id:
            sweep(conn, str(timer.person_id))

    container.service("timers").register(TIMER_KIND, fire)


__all__ = ["AFTER", "TIMER_KIND", "install_timer", "schedule", "sweep"]
