"""Replay a history file against a fresh embedded database with the bank's configuration."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bestnext.bootstrap import build
from bestnext.clock import VirtualClock, as_utc
from bestnext.errors import InvalidInput
from bestnext.migrate import upgrade
from bestnext.replay.driver import Driver, actions, default_until, parse_lines
from bestnext.settings import Settings


@dataclass
class Replayed:
    actions: list[dict[str, Any]]
    errors: list[tuple[int, str]]
    steps: int
    failures: list[tuple[str, str]] = field(default_factory=list)  # (message id, error) skipped by journeys


def replay_text(text: str, until: datetime | None = None, *, config_dir: Path | None = None,
                database_url: str | None = None) -> Replayed:
    """Replay ``text`` (JSON lines); a temp SQLite database unless ``database_url`` is given."""
    parsed = parse_lines(text)
    if not parsed.lines:
        raise InvalidInput("no valid line to replay", errors=[{"line": n, "message": m} for n, m in parsed.errors])
    with tempfile.TemporaryDirectory(prefix="bestnext-replay-") as tmp:
        settings = Settings(
            database_url=database_url or f"sqlite:///{tmp}/replay.db", environment="test",
            var_dir=Path(tmp), log_file=Path(tmp) / "replay.log", sandbox=True, sqlite_synchronous="NORMAL",
            log_level="WARNING", run_workers=False)
        if config_dir is not None:
            settings.config_dir = config_dir
        clock = VirtualClock(parsed.lines[0].at)
        container = build(settings, clock)
        try:
            upgrade(container.engine)
            driver = Driver(container, clock)
            driver.run(parsed.lines, as_utc(until) if until else default_until(parsed.lines))
            engine = container.services.get("journeys")
            failures = list(getattr(engine, "failures", []))
            return Replayed(actions(container), sorted(parsed.errors + driver.errors),
                            int(getattr(engine, "steps_run", 0)), failures)
        finally:
            container.dispose()


def replay_file(path: Path, until: datetime | None = None) -> Replayed:
    if not path.exists():
        raise InvalidInput(f"no such file: {path}")
    return replay_text(path.read_text(encoding="utf-8"), until)
