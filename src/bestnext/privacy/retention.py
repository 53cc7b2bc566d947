"""Retention rules per event type (``retention.yaml`` of the bank), applied by a daily job.

The journeys/timers context schedules :func:`run` once a day; ``bestnext privacy retention``
runs it by hand (``--dry-run`` counts without deleting). The same run purges old bookkeeping
rows (the ``housekeeping:`` section: :mod:`bestnext.privacy.housekeeping`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
import yaml
from sqlalchemy import Connection, delete, func, or_, select

from bestnext.clock import ROME, to_rome
from bestnext.errors import ConfigInvalid
from bestnext.eventlog.tables import events

log = structlog.get_logger(__name__)

_PERIOD = re.compile(r"^\s*(\d+)\s*(day|week|month|year)s?\s*$")


@dataclass(frozen=True, slots=True)
class Rule:
    event_type: str  # a message type (page) or a track event name
    amount: int
    unit: str  # day | week | month | year

    def cutoff(self, now: datetime) -> datetime:
        """The oldest instant kept.

        >>> from datetime import UTC, datetime
        >>> Rule("page", 13, "month").cutoff(datetime(2026, 3, 31, tzinfo=UTC)).date().isoformat()
        '2025-02-28'
        """
        if self.unit in ("day", "week"):
            return now - timedelta(days=self.amount * (7 if self.unit == "week" else 1))
        months = self.amount * (12 if self.unit == "year" else 1)
        year, month = divmod(now.month - 1 - months, 12)
        year, month = now.year + year, month + 1
        for day in range(now.day, 0, -1):
            try:
                return now.replace(year=year, month=month, day=day)
            except ValueError:
                continue
        raise AssertionError("unreachable")


def period(text: str) -> tuple[int, str] | None:
    """``(amount, unit)`` of a period like ``13 months`` (None if it is not one).

    >>> period("2 weeks"), period("forever")
    ((2, 'week'), None)
    """
    match = _PERIOD.match(text)
    return (int(match.group(1)), match.group(2)) if match else None


def parse_rules(doc: Any) -> list[Rule]:
    """Rules from the YAML document (none when it only has a ``housekeeping`` section).

    >>> parse_rules({"events": {"page": "13 months"}})
    [Rule(event_type='page', amount=13, unit='month')]
    """
    table = doc.get("events") if isinstance(doc, dict) else None
    if table is None and isinstance(doc, dict) and "housekeeping" in doc:
        return []
    if not isinstance(table, dict):
        raise ConfigInvalid("retention.yaml needs an 'events' mapping: event type -> period.")
    rules = []
    for name, text in table.items():
        parsed = period(str(text))
        if parsed is None:
            raise ConfigInvalid(f"retention.yaml: '{text}' for '{name}' is not like '13 months'.")
        rules.append(Rule(str(name), *parsed))
    return rules


def load_rules(config_dir: Path) -> list[Rule]:
    path = config_dir / "retention.yaml"
    if not path.exists():
        return []
    return parse_rules(yaml.safe_load(path.read_text(encoding="utf-8")))


def apply(conn: Connection, rules: list[Rule], now: datetime, dry_run: bool = False) -> dict[str, int]:
    """Delete (or count) the events older than their rule allows; returns counts per rule."""
    counts: dict[str, int] = {}
    for rule in rules:
        where = (or_(events.c.type == rule.event_type, events.c.event == rule.event_type),
                 events.c.occurred_at < rule.cutoff(now))
        if dry_run:
            counts[rule.event_type] = int(conn.execute(select(func.count()).where(*where)).scalar_one())
        else:
            counts[rule.event_type] = int(conn.execute(delete(events).where(*where)).rowcount)
    return counts


def run(container: Any, dry_run: bool = False) -> dict[str, int]:
    """The daily job: apply the bank's rules at ``container.clock.now()`` in one transaction."""
    rules = load_rules(container.settings.config_dir)
    with container.engine.begin() as conn:
        return apply(conn, rules, container.clock.now(), dry_run)


TIMER_KIND = "privacy.retention"


def next_run(now: datetime, hour: int = 3) -> datetime:
    """The next ``hour``:00 in Europe/Rome after ``now`` (when the bank is quiet).

    >>> from datetime import UTC, datetime
    >>> next_run(datetime(2025, 6, 23, 12, 0, tzinfo=UTC)).isoformat()
    '2025-06-24T03:00:00+02:00'
    """
    local = to_rome(now)
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate <= local:
        candidate = (candidate + timedelta(days=1)).replace(hour=hour)
    return candidate.replace(tzinfo=ROME)


def schedule_next(conn: Connection, now: datetime) -> bool:
    """Schedule the next daily run as a timer (idempotent: one timer per day)."""
    from bestnext.timers import store as timers

    due = next_run(now)
    return timers.schedule(conn, TIMER_KIND, due, {}, now=now, key=f"{TIMER_KIND}:{due.date().isoformat()}")


def install_timer(container: Any) -> None:
    """Register the daily job with the container's timer service: each run applies the rules,
    purges a first batch of bookkeeping rows (a backlog continues as housekeeping timers) and
    schedules the next run. Call ``schedule_next`` once (e.g. at start-up) to begin."""
    from bestnext.privacy import housekeeping

    def fire(conn: Connection, _timer: Any) -> None:
        now = container.clock.now()
        log.info("retention_applied", deleted=apply(conn, load_rules(container.settings.config_dir), now))
        housekeeping.sweep(conn, housekeeping.load_policy(container.settings.config_dir), now)
        schedule_next(conn, now)

    container.service("timers").register(TIMER_KIND, fire)
    housekeeping.install_timer(container)


def start_daily(container: Any) -> None:
    """Register the handler and make sure the next daily run is scheduled (at start-up of a
    process that runs timers)."""
    install_timer(container)
    with container.engine.begin() as conn:
        schedule_next(conn, container.clock.now())
