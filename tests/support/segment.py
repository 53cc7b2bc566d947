"""Build event-log rows straight from Segment messages (tests that do not go through ingest)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bestnext.bootstrap import Container
from bestnext.eventlog import NewEvent, store

SCENARIOS = Path(os.environ.get("BESTNEXT_SCENARIOS", Path(__file__).parents[3] / "shared" / "scenarios"))
RECEIVED = datetime(2026, 1, 1, tzinfo=UTC)


def new_event(msg: dict[str, Any], source: str = "test") -> NewEvent:
    """A log row for one Segment message, as ingest would append it."""
    ctx = msg.get("context") or {}
    at = datetime.fromisoformat(msg["timestamp"]) if msg.get("timestamp") else RECEIVED
    return NewEvent(
        source_id=source, message_id=str(msg["messageId"]), type=msg["type"],
        touchpoint=str(ctx.get("touchpoint") or "web"), occurred_at=at.astimezone(UTC),
        received_at=RECEIVED, payload=msg, event=msg.get("event"),
        user_id=None if msg.get("userId") is None else str(msg["userId"]),
        anonymous_id=msg.get("anonymousId"))


def append(container: Container, messages: Iterable[dict[str, Any]], *, process: bool = True) -> int:
    """Append messages to the log (committed), then run the pipeline until idle."""
    with container.engine.begin() as conn:
        added = store.append(conn, [new_event(m) for m in messages])
    if process:
        container.pipeline.run_until_idle()
    return added


def scenario(name: str) -> list[dict[str, Any]]:
    lines = (SCENARIOS / f"{name}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def seed_messages(names: Sequence[str] = ("martina", "antonio", "rossi")) -> list[dict[str, Any]]:
    return [m for name in names for m in scenario(name)]


def append_rows(engine: Engine, messages: Iterable[dict[str, Any]]) -> int:
    """Append messages to the log of ``engine`` (committed), without processing."""
    with engine.begin() as conn:
        return store.append(conn, [new_event(m) for m in messages])
