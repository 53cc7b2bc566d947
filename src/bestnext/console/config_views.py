"""Journeys and catalog as the console shows them: step diagrams with live counts, and the
validation of an edited YAML file (with line numbers) before anyone activates it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection

from bestnext.console import store
from bestnext.decisions import catalog_versions
from bestnext.decisions.catalog import Catalog, load_catalog, parse_catalog, product_ids
from bestnext.errors import ConfigInvalid, NotFound
from bestnext.journeys import services as journey_services
from bestnext.journeys import store as journeys_store
from bestnext.journeys.config import check_text, load_journeys
from bestnext.journeys.model import Journey


@dataclass(frozen=True, slots=True)
class StepBox:
    """One box of a journey diagram: the step, what it does, where it goes, who is in it now."""

    id: str
    kind: str
    detail: str
    exits: list[tuple[str, str]]  # (label, step id)
    active: int


def diagram(journey: Journey, counts: dict[str, int]) -> list[StepBox]:
    """The steps of ``journey`` in order, each with its exits and the people waiting in it.

    >>> import yaml
    >>> j = Journey.model_validate(yaml.safe_load('''
    ... id: j
    ... entry: [{event: A}]
    ... steps:
    ...   - {id: w, do: wait_event, event: B, timeout: 1d, on_event: e, on_timeout: e}
    ...   - {id: e, do: end}
    ... '''))
    >>> [(b.id, b.exits, b.active) for b in diagram(j, {"w": 2})]
    [('w', [('on_event', 'e'), ('on_timeout', 'e')], 2), ('e', [], 0)]
    """
    boxes = []
    for index, step in enumerate(journey.steps):
        exits = [(attr, str(getattr(step, attr))) for attr in ("on_event", "on_timeout", "on_none", "on_max", "default")
                 if getattr(step, attr, None)]
        exits += [(" & ".join(f"{c.field} {c.op} {c.value}" for c in case.when), case.next)
                  for case in getattr(step, "cases", [])]
        if step.next:
            exits.insert(0, ("next", step.next))
        elif not exits and step.do != "end" and index + 1 < len(journey.steps):
            exits.append(("next", journey.steps[index + 1].id))
        boxes.append(StepBox(step.id, step.do, _detail(step), exits, counts.get(step.id, 0)))
    return boxes


def _detail(step: Any) -> str:
    parts = [f"{k}={v}" for k, v in (("channel", getattr(step, "channel", None)), ("action", getattr(step, "action", None)),
                                     ("event", getattr(step, "event", None)), ("for", getattr(step, "for_", None)),
                                     ("timeout", getattr(step, "timeout", None))) if v]
    return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class JourneyRow:
    journey: Journey
    file: str
    active: int
    finished: int
    paused: bool = False


def journeys_overview(conn: Connection, config_dir: Path) -> list[JourneyRow]:
    """Every journey of the bank with its live instance counts."""
    counts = store.journey_counts(conn)
    paused = journeys_store.paused_ids(conn)
    files = {str((yaml.safe_load(p.read_text(encoding="utf-8")) or {}).get("id")): p.name
             for p in sorted((config_dir / "journeys").glob("*.yaml"))}
    rows = []
    for j in load_journeys(config_dir):
        by_status = counts.get(j.id, {})
        rows.append(JourneyRow(j, files.get(j.id, ""), sum(n for (s, _), n in by_status.items() if s == "active"),
                               sum(n for (s, _), n in by_status.items() if s != "active"), j.id in paused))
    return rows


def journey_detail(conn: Connection, config_dir: Path, journey_id: str) -> tuple[Journey, str, list[StepBox]]:
    """A journey, its YAML text and its diagram with live counts per step."""
    for row in journeys_overview(conn, config_dir):
        if row.journey.id == journey_id:
            text = (config_dir / "journeys" / row.file).read_text(encoding="utf-8") if row.file else ""
            active = {step: n for (status, step), n in store.journey_counts(conn).get(journey_id, {}).items()
                      if status == "active" and step}
            return row.journey, text, diagram(row.journey, active)
    raise NotFound(f"No journey '{journey_id}'.")


def validate_journey(text: str) -> list[dict[str, Any]]:
    """Errors of an edited journey (line, field, message); empty when it is valid."""
    return check_text(text, "edited journey")


def current_catalog(conn: Connection, config_dir: Path) -> tuple[Catalog, str, int | None]:
    """The catalog in use, its YAML and its version number (``None``: the bank's catalog.yaml)."""
    found = catalog_versions.active_text(conn)
    if found is not None:
        number, catalog = catalog_versions.active_catalog(conn, config_dir)
        return catalog, found[1], number
    path = config_dir / "catalog.yaml"
    return load_catalog(path), path.read_text(encoding="utf-8"), None


def validate_catalog(text: str, config_dir: Path) -> tuple[Catalog | None, list[dict[str, Any]]]:
    """The edited catalog if it is valid (products checked against the bank's), else its errors."""
    try:
        return parse_catalog(text, "edited catalog", product_ids(config_dir)), []
    except ConfigInvalid as exc:
        return None, exc.errors or [{"line": None, "field": None, "message": exc.detail}]


def person_instances(conn: Connection, who: str) -> list[dict[str, Any]]:
    """The journey instances (with steps) of the person known as ``TYPE:VALUE`` or by person id;
    journey data only, no personal data (empty when nobody is known so)."""
    from bestnext.identity import services as identity

    person: str | None = who.strip()
    if person and ":" in person:
        kind, value = person.split(":", 1)
        person = identity.find_person(conn, kind.strip(), value.strip())
    return journey_services.instances_of(conn, person) if person else []
