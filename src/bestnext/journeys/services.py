"""Read and check journeys: definitions, validation, a person's instances (API, CLI, console)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from bestnext.errors import ConfigInvalid
from bestnext.journeys import store
from bestnext.journeys.config import check_text, load_journeys


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
