"""HTTP API of journeys: definitions, checking a journey file, a person's journeys, replay."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from bestnext.access import Principal
from bestnext.access.permissions import Permission
from bestnext.api.deps import ContainerDep, require
from bestnext.db import read
from bestnext.journeys import services
from bestnext.replay.service import replay_text

router = APIRouter(tags=["journeys"])
Manager = Annotated[Principal, Depends(require(Permission.JOURNEYS_MANAGE))]
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Replayer = Annotated[Principal, Depends(require(Permission.REPLAY_RUN))]
YAML = Annotated[str, Body(media_type="application/yaml", max_length=200_000)]
JSONL = Annotated[str, Body(media_type="application/x-ndjson", max_length=2_000_000)]


@router.get("/v1/journeys")
def list_journeys(container: ContainerDep, _who: Manager) -> list[dict[str, Any]]:
    """The bank's journeys, highest priority first (``paused`` when paused)."""
    with read(container.engine) as conn:
        states = services.pause_states(conn)
    return [{**j, "paused": bool(states.get(j["id"], {}).get("paused"))}
            for j in services.definitions(container.settings.config_dir)]


@router.post("/v1/journeys/check")
def check_journey(text: YAML, _who: Manager) -> dict[str, bool]:
    """Validate a journey (YAML body); a 422 problem names the line and field of each error."""
    services.check(text)
    return {"valid": True}


@router.get("/v1/people/{person_id}/journeys")
def person_journeys(person_id: str, container: ContainerDep, _who: Reader) -> list[dict[str, Any]]:
    """The person's journey instances with their steps, newest first."""
    with read(container.engine) as conn:
        return services.instances_of(conn, person_id)


@router.post("/v1/journeys/{journey_id}/pause")
def pause_journey(journey_id: str, container: ContainerDep, who: Manager) -> dict[str, Any]:
    """Pause a journey: no new entries; due steps of its instances are held until resume."""
    with container.engine.begin() as conn:
        return services.pause(conn, container.settings.config_dir, journey_id, who.name,
                              container.clock.now())


@router.post("/v1/journeys/{journey_id}/resume")
def resume_journey(journey_id: str, container: ContainerDep, who: Manager) -> dict[str, Any]:
    """Resume a journey: entries again, and every held step continues now."""
    with container.engine.begin() as conn:
        result = services.resume(conn, container.settings.config_dir, journey_id, who.name,
                                 container.clock.now())
    services.wake_timers(container)
    return result


@router.post("/v1/replay")
def replay(text: JSONL, _who: Replayer,
           until: Annotated[datetime | None, Query(description="default: 14 days after the last line")] = None,
           ) -> dict[str, Any]:
    """Replay a history (one Segment message a line) in a fresh embedded database; the bank's actions."""
    result = replay_text(text, until)
    return {"actions": result.actions, "rejected": [{"line": n, "message": m} for n, m in result.errors]}
