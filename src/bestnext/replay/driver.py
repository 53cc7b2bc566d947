"""The replay driver: takes the next thing in time order (a line of the file, a due timer, a
due outbox row), moves the virtual clock to it, and runs the engine until idle. It never sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bestnext.bootstrap import Container
from bestnext.clock import ROME, VirtualClock, as_utc, to_rome
from bestnext.db import read
from bestnext.eventlog import store as events
from bestnext.journeys import store as journey_store

MAX_ROUNDS = 100_000


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    message: dict[str, Any]
    at: datetime


@dataclass
class Parsed:
    lines: list[Line] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)


def parse_lines(text: str) -> Parsed:
    """Parse a JSON-lines history; malformed lines are reported by number, the rest kept. A
    byte-order mark is ignored; a timestamp without an offset is the bank's time (Europe/Rome).

    >>> p = parse_lines('\\ufeff{"type": "track", "timestamp": "2025-01-01T10:00:00+01:00"}\\nnope\\n'
    ...                 '{"type": "track", "timestamp": "2025-07-01T10:00:00"}\\n')
    >>> [l.number for l in p.lines], p.errors[0][0], p.lines[1].message["timestamp"]
    ([1, 3], 2, '2025-07-01T10:00:00+02:00')
    """
    parsed = Parsed()
    previous: datetime | None = None
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            message = orjson.loads(raw)
            if not isinstance(message, dict):
                raise ValueError("a line must be a JSON object")
            stamp = message.get("timestamp") or message.get("sentAt") or message.get("receivedAt")
            if stamp is None and previous is None:
                raise ValueError("the first line needs a timestamp")
            # a line without a time happened when the line before it did
            at = as_utc(_local(message, stamp)) if stamp is not None else previous
        except (ValueError, KeyError, TypeError) as exc:
            parsed.errors.append((number, f"{type(exc).__name__}: {exc}"))
            continue
        assert at is not None
        previous = at
        parsed.lines.append(Line(number, message, at))
    parsed.lines.sort(key=lambda line: (line.at, line.number))
    return parsed


def _local(message: dict[str, Any], stamp: object) -> datetime:
    """The line's moment; without an offset it is the bank's local time, written back with it."""
    at = datetime.fromisoformat(str(stamp))
    if at.tzinfo is None:
        at = at.replace(tzinfo=ROME)
        for key in ("timestamp", "sentAt", "receivedAt"):
            if message.get(key) == stamp:
                message[key] = at.isoformat()
    return at


def default_until(lines: Sequence[Line]) -> datetime:
    return max(line.at for line in lines) + timedelta(days=14)


class Driver:
    """Feeds lines through the ingest service and fires timers and dispatches on the clock."""

    def __init__(self, container: Container, clock: VirtualClock) -> None:
        from bestnext.channels.wiring import dispatcher
        from bestnext.ingest import services as ingest

        self.c, self.clock = container, clock
        self.ingest = ingest
        self.dispatcher = dispatcher(container)
        # one action at a time, the pipeline between: each send is on the contact log before
        # the contact policy judges the next one
        cfg = self.dispatcher.config
        self.dispatcher.config = cfg.model_copy(update={"dispatch": cfg.dispatch.model_copy(update={"batch_size": 1})})
        with container.engine.begin() as conn:
            self.source = ingest.ensure_source(conn, "replay", "web", clock.now())
        self.errors: list[tuple[int, str]] = []

    def run(self, lines: Sequence[Line], until: datetime) -> None:
        pending = list(lines)
        for _ in range(MAX_ROUNDS):
            due = self._next_due()
            if pending and (due is None or pending[0].at <= due):
                if pending[0].at > until:
                    return
                self._feed(pending.pop(0))
            elif due is not None and due <= until:
                self.clock.advance_to(due)
            else:
                return
            self._settle()
        raise RuntimeError("replay did not settle")

    def _feed(self, line: Line) -> None:
        self.clock.advance_to(line.at)
        with self.c.engine.begin() as conn:
            result = self.ingest.accept(conn, self.source, [line.message], self.clock.now())
        for err in result.errors:
            self.errors.append((line.number, f"{err.field}: {err.message}"))

    def _settle(self) -> None:
        """Run processors, timers and dispatch until nothing is due at the current time."""
        timers = self.c.service("timers")
        for _ in range(10_000):
            work = self.c.pipeline.run_until_idle()
            work += timers.fire_due()
            work += self.dispatcher.run_once()
            if work == 0:
                return

    def _next_due(self) -> datetime | None:
        from bestnext.channels import outbox

        with read(self.c.engine) as conn:
            found = [d for d in (self.c.service("timers").next_due(), outbox.next_due_at(conn)) if d is not None]
        now = self.clock.now()
        return max(now + timedelta(seconds=1), as_utc(min(found))) if found and min(found) <= now \
            else (as_utc(min(found)) if found else None)


def actions(container: Container) -> list[dict[str, Any]]:
    """The actions the bank took (sent in the sandbox), in time order."""
    from bestnext.channels import outbox

    out: list[dict[str, Any]] = []
    with read(container.engine) as conn:
        people: dict[str, str | None] = {}
        rows = outbox.sent_actions(conn)
        answers = journey_store.bases(conn, [r.action.id for r in rows])
        for row in rows:
            a = row.action
            based_on = list(dict.fromkeys([*a.based_on, *answers.get(a.id, [])]))
            if a.person_id not in people:
                people[a.person_id] = best_identifier(conn, a.person_id)
            out.append({"at": to_rome(row.sent_at or a.due_at).isoformat(), "person": people[a.person_id],
                        "channel": a.channel, "purpose": a.purpose, "action": a.action, "product": a.product,
                        "offer": a.offer, "journey": a.journey, "based_on": based_on,
                        "assignee": a.assignee, "text": a.text})
    return out


def best_identifier(conn: Any, person_id: str) -> str | None:
    """``userId``, else email, else phone, from the person's events; for a person known by no
    one of them (an anonymous social profile), their first ``anonymousId``."""
    found: dict[str, str] = {}
    for event in events.events_of(conn, person_id):
        traits = event.traits
        for key, value in (("user", event.user_id), ("email", traits.get("email")), ("phone", traits.get("phone")),
                           ("anonymous", event.anonymous_id)):
            if value and key not in found:
                found[key] = str(value)
    return found.get("user") or found.get("email") or found.get("phone") or found.get("anonymous")


def iter_json(items: Sequence[dict[str, Any]]) -> Iterator[str]:
    for item in items:
        yield orjson.dumps(item).decode()


def read_file(path: Path) -> str:
    return path.read_text(encoding="utf-8")
