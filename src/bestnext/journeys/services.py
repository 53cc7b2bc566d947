"""Read and check journeys: definitions, validation, a person's instances (API, CLI, console)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from bestnext.errors import ConfigInvalid, NotFound
from bestnext.journeys import store
from bestnext.journeys.config import check_text, load_journeys
from bestnext.journeys.engine import WAKE
from bestnext.timers import store as timers


def definitions(config_dir: Path) -> list[dict[str, Any]]:
    """The bank's journeys, highest priority first."""
    return [{"id": j.id, "version": j.version, "name": j.name, "priority": j.priority,
             "entry": [t.model_dump(exclude_defaults=True) for t in j.entry],
             "steps": [s.id for s in j.steps]} for j in load_journeys(config_dir)]


def check(text: str, source: str = "journey.yaml") -> None:
    """Raise :class:`ConfigInvalid` with line and field of every error (nothing when valid)."""
    errors = check_text(text, source)
    if errors:
        raise ConfigInvalid(f"{source}: invalid journey", errors=errors)


def instances_of(conn: Connection, person_id: str) -> list[dict[str, Any]]:
    """A person's journey instances, newest first, each with its steps (no personal data)."""
    out = []
    for inst in reversed(store.of_person(conn, person_id, status=None)):
        steps = [{"step": s["step"], "kind": s["kind"], "at": s["at"].isoformat(),
                  "outcome": orjson.loads(s["outcome"]) if s["outcome"] else None}
                 for s in store.steps_of(conn, inst.id)]
        out.append({"id": inst.id, "journey": inst.journey_id, "version": inst.version, "status": inst.status,
                    "step": inst.step, "waiting_for": inst.waiting_event,
                    "wait_until": inst.wait_until.isoformat() if inst.wait_until else None,
                    "entered_at": inst.entered_at.isoformat() if inst.entered_at else None,
                    "ended_at": inst.ended_at.isoformat() if inst.ended_at else None, "steps": steps})
    return out


def _known(config_dir: Path, journey_id: str) -> None:
    if journey_id not in {j.id for j in load_journeys(config_dir)}:
        raise NotFound(f"No journey '{journey_id}'.")


def pause(conn: Connection, config_dir: Path, journey_id: str, by: str, now: datetime) -> dict[str, Any]:
    """Pause a journey: it takes nobody in, and its instances hold the step that falls due.

    While paused, entry triggers are ignored; a due timer (wait, debounce, timeout) or the event
    an instance waits for is *held* on the instance (the first one; nothing is lost); goals and
    exits still end instances (the customer's facts are not paused). :func:`resume` lets every
    held step continue at once, in the timer loop.
    """
    _known(config_dir, journey_id)
    store.set_paused(conn, journey_id, True, now, by)
    return {"journey": journey_id, "paused": True, "changed_at": now.isoformat(), "released": 0}


def resume(conn: Connection, config_dir: Path, journey_id: str, by: str, now: datetime) -> dict[str, Any]:
    """Resume a paused journey: entries again, and a wake-up due now for every held step."""
    _known(config_dir, journey_id)
    store.set_paused(conn, journey_id, False, now, by)
    released = 0
    for inst in store.held_of(conn, journey_id):
        if "held" in inst.vars:
            token = inst.vars.get("wait_token")
            payload = {"instance": inst.id, "step": inst.step, "token": token, "held": True}
            timers.schedule(conn, WAKE, now, payload, now=now, key=f"held:{inst.id}:{token}:{now.isoformat()}",
                            person_id=inst.person_id)
            released += 1
    return {"journey": journey_id, "paused": False, "changed_at": now.isoformat(), "released": released}


def pause_states(conn: Connection) -> dict[str, dict[str, Any]]:
    """``{journey id: {paused, changed_at, changed_by}}`` for journeys ever paused."""
    return store.controls(conn)


def wake_timers(container: Any) -> None:
    """Tell this process's timer loop that held steps are due now (resume)."""
    service = container.services.get("timers")
    if service is not None:
        service.wakeup.set()
