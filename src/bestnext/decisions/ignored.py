"""Ignored offers: a presented action with no response within its window becomes ``ignored``.

Every impression schedules a timer (kind :data:`TIMER_KIND`, one per decided action) at the end
of the response window; when it fires and the person has neither accepted, declined nor
converted, the outcome ``ignored`` is recorded at the window's end, which teaches the action's
model a 0 (when the consent policy allows learning from the person). The timers run on the
container's clock, so a replay ignores exactly like production.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection

from bestnext.decisions import store

log = structlog.get_logger(__name__)

TIMER_KIND = "decisions.ignored"
RESPONSE_WINDOW = timedelta(days=7)
RESPONSES = frozenset({"accepted", "declined", "converted", "ignored"})


def timer_key(decision_id: str, action_id: str) -> str:
    """The idempotency key of the action's timer (one per decided action).

    >>> timer_key("d1", "offer_x")
    'decisions.ignored:d1:offer_x'
    """
    return f"{TIMER_KIND}:{decision_id}:{action_id}"


def responded(outcomes: list[dict[str, Any]], action_id: str) -> bool:
    """Whether ``outcomes`` (rows of one decision) hold a response for ``action_id``.

    >>> responded([{"action_id": "a", "outcome": "impression"}], "a")
    False
    >>> responded([{"action_id": "a", "outcome": "declined"}], "a")
    True
    """
    return any(o["action_id"] == action_id and o["outcome"] in RESPONSES for o in outcomes)


def expect_response(conn: Connection, decision_id: str, action_id: str, shown_at: datetime,
                    window: timedelta = RESPONSE_WINDOW, person_id: str | None = None) -> None:
    """After an impression: wait ``window`` for a response (idempotent per decided action).
    The timer names ``person_id``, the decision's person, so that erasure deletes it."""
    from bestnext.timers import store as timers

    timers.schedule(conn, TIMER_KIND, shown_at + window, {"decision_id": decision_id, "action_id": action_id},
                    now=shown_at, key=timer_key(decision_id, action_id), person_id=person_id)


def fire(conn: Connection, decision_id: str, action_id: str, at: datetime, config_dir: Any = None) -> bool:
    """Record ``ignored`` at ``at`` unless the action got a response; returns whether it did."""
    from bestnext.decisions import services

    if store.get_decision(conn, decision_id) is None:  # erased or never logged here
        return False
    if responded(store.outcomes_of(conn, decision_id), action_id):
        return False
    done = services.record_outcome(conn, decision_id, action_id, "ignored", at, config_dir=config_dir)
    log.info("decision_ignored", decision_id=decision_id, action_id=action_id, learned=done.learned)
    return done.recorded


def install_timer(container: Any) -> None:
    """Register the handler of the ignored-offer timers with the container's timer service."""

    def handle(conn: Connection, timer: Any) -> None:
        payload = timer.payload
        fire(conn, str(payload["decision_id"]), str(payload["action_id"]), timer.due_at,
             container.settings.config_dir)

    container.service("timers").register(TIMER_KIND, handle)


__all__ = ["RESPONSE_WINDOW", "TIMER_KIND", "expect_response", "fire", "install_timer", "responded",
           "timer_key"]
