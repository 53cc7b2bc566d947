"""Background duties by worker role: ``bestnext worker --role timers`` runs the daily retention
sweep like ``serve`` does, and ``serve --no-workers`` plus worker processes (two per role where
that is allowed) run every duty, each once."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, func, select

from bestnext.bootstrap import Container, build
from bestnext.channels import outbox
from bestnext.channels.model import OutboundAction
from bestnext.channels.tables import outbox as outbox_table
from bestnext.clock import ROME, VirtualClock
from bestnext.db import read
from bestnext.decisions.tables import decisions
from bestnext.eventlog import NewEvent
from bestnext.eventlog import store as log
from bestnext.eventlog.tables import events, processor_checkpoints
from bestnext.ingest import services as ingest
from bestnext.journeys.tables import journey_instances
from bestnext.privacy import retention
from bestnext.timers import store as timers
from bestnext.timers.tables import timers as timers_table
from bestnext.workers import ROLES, Background
from tests.conftest import test_settings as settings_for
from tests.support.server import BIN

NOW = datetime(2025, 6, 23, 12, 0, tzinfo=UTC)  # a Monday


def _page(message_id: str, at: datetime) -> NewEvent:
    return NewEvent(source_id="web", message_id=message_id, type="page", touchpoint="web", occurred_at=at,
                    received_at=at, payload={"type": "page", "anonymousId": "v1"}, anonymous_id="v1")


def _until(check: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_the_timers_role_schedules_and_runs_the_daily_retention_sweep(
        db_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    clock = VirtualClock(NOW)
    c = build(settings_for(db_url, tmp_path_factory), clock, configure_logging=False)
    with c.engine.begin() as conn:
        log.append(conn, [_page("old", NOW - timedelta(days=500)), _page("recent", NOW - timedelta(days=30))])
    background = Background(c, ["timers"])
    background.start()
    try:
        with read(c.engine) as conn:
            (daily,) = timers.pending(conn, retention.TIMER_KIND)
        assert daily.due_at == datetime(2025, 6, 24, 3, 0, tzinfo=ROME)
        clock.advance_to(daily.due_at + timedelta(minutes=1))
        c.service("timers").wakeup.set()
        assert _until(lambda: _kept(c.engine) == ["recent"]), "the sweep deleted the 13-month-old page"
        with read(c.engine) as conn:
            (following,) = timers.pending(conn, retention.TIMER_KIND)
            assert timers.counts(conn) == {"done": 1, "pending": 1}  # fired once, nothing failed
        assert following.due_at == datetime(2025, 6, 25, 3, 0, tzinfo=ROME)
    finally:
        background.stop()
        c.dispose()


def _kept(engine: Engine) -> list[str]:
    with read(engine) as conn:
        return sorted(conn.execute(select(events.c.message_id)).scalars())


def test_serve_runs_the_duties_of_every_role_and_no_workers_runs_none(
        db_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    c = build(settings_for(db_url, tmp_path_factory), VirtualClock(NOW), configure_logging=False)
    try:
        every = [type(d).__name__ for d in Background(c, ROLES).duties]
        by_role = [type(d).__name__ for role in ROLES for d in Background(c, [role]).duties]
        assert every == by_role == ["Leader", "DailyRetention", "TimerLoop", "DispatchThread"]
        assert Background(c, ()).duties == []
        with pytest.raises(ValueError, match="unknown worker roles"):
            Background(c, ["timer"])
    finally:
        c.dispose()


def _by_kind(conn: Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute(select(timers_table.c.kind, timers_table.c.status, func.count())
                        .group_by(timers_table.c.kind, timers_table.c.status))
    return {(kind, status): int(n) for kind, status, n in rows}


# -- real processes -----------------------------------------------------------------------------

def _lead(anonymous_id: str) -> list[dict[str, Any]]:
    at = datetime.now(UTC).isoformat()
    base = {"anonymousId": anonymous_id, "timestamp": at, "context": {"touchpoint": "partner"}}
    return [
        {**base, "type": "identify", "messageId": f"{anonymous_id}-1", "traits": {"first_name": "Ada"}},
        {**base, "type": "track", "messageId": f"{anonymous_id}-2", "event": "Consent Preferences Updated",
         "properties": {"purposes": {"personal_data": True, "own_marketing": True, "profiling": True}}},
        {**base, "type": "track", "messageId": f"{anonymous_id}-3", "event": "Lead Received",
         "properties": {"product": "pension_fund", "preferred_channel": "sms"}},
    ]


@pytest.fixture
def workers(db_url: str, tmp_path: Path) -> Iterator[Callable[[str | None], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(role: str | None) -> subprocess.Popen[bytes]:
        env = {**os.environ, "BESTNEXT_DATABASE_URL": db_url, "BESTNEXT_ENVIRONMENT": "test",
               "BESTNEXT_SANDBOX": "true", "BESTNEXT_LOG_FILE": str(tmp_path / f"{role}-{len(started)}.log")}
        proc = subprocess.Popen([str(BIN), "worker", *(["--role", role] if role else [])], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.terminate()
    for proc in started:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_no_workers_serve_plus_worker_processes_run_every_duty_once(
        container: Container, workers: Callable[[str | None], subprocess.Popen[bytes]]) -> None:
    """The test plays ``serve --no-workers``: it only writes (events, actions, timers). A bare
    ``bestnext worker`` (every role) runs next to one worker per role: two of each."""
    procs = [workers(role) for role in (None, "processors", "timers", "dispatch")]
    now = datetime.now(UTC)
    leads = [f"lead-{i}-{uuid.uuid4().hex[:6]}" for i in range(6)]
    with container.engine.begin() as conn:
        source = ingest.ensure_source(conn, "test", "web", now)
        assert not ingest.accept(conn, source, [m for lead in leads for m in _lead(lead)], now).errors
        for i in range(5):
            outbox.enqueue(conn, OutboundAction(person_id=f"p-{i}", channel="push", purpose="service",
                                                action="answer_request", due_at=now, text=f"Messaggio {i}"))
            timers.schedule(conn, "decisions.ignored", now, {"decision_id": f"gone-{i}", "action_id": "x"}, now=now)
        head = log.head(conn)

    def settled() -> bool:
        with read(container.engine) as conn:
            seqs = conn.execute(select(processor_checkpoints.c.seq)).scalars().all()
            sent = conn.execute(select(func.count()).where(outbox_table.c.action == "answer_request",
                                                           outbox_table.c.status == "sent")).scalar_one()
            fired = _by_kind(conn).get(("decisions.ignored", "done"), 0)
        return len(seqs) == len(container.pipeline.processors) and min(seqs) >= head and sent == 5 and fired == 5

    assert _until(settled, 60), [p.stderr.read().decode()[-1500:] for p in procs if p.poll() is not None]  # type: ignore[union-attr]
    time.sleep(1.5)  # a second processor process, had it run too, would have added its effects by now
    with read(container.engine) as conn:
        per_lead = conn.execute(select(journey_instances.c.person_id, func.count())
                                .group_by(journey_instances.c.person_id)).all()
        decided = conn.execute(select(func.count()).select_from(decisions)).scalar_one()
        kinds = _by_kind(conn)
    assert [n for _p, n in per_lead] == [1] * len(leads), "one lead journey per person, not one per process"
    assert decided == len(leads), "one decision per lead"
    assert kinds == {("decisions.ignored", "done"): 5, ("journey.wake", "pending"): len(leads),
                     (retention.TIMER_KIND, "pending"): 1}, "due timers fired once, one daily run, none failed"
    assert all(p.poll() is None for p in procs), "every worker is still running"


class _Count:
    def __init__(self) -> None:
        self.running = 0

    def start(self) -> None:
        self.running += 1

    def stop(self) -> None:
        self.running -= 1


def test_one_leader_runs_the_duty_and_another_takes_over_when_it_stops(db_url: str) -> None:
    from bestnext.db import create_db_engine
    from bestnext.workers import Leader

    engines = [create_db_engine(db_url) for _ in range(2)]
    duties = [_Count(), _Count()]
    leaders = [Leader(e, "test-duty", lambda d=d: d, check=0.05) for e, d in zip(engines, duties, strict=True)]
    try:
        for leader in leaders:
            leader.start()
        assert _until(lambda: leaders[0].leading.is_set() or leaders[1].leading.is_set(), 10)
        if engines[0].dialect.name == "postgresql":
            time.sleep(0.3)  # the other keeps trying, and keeps failing
            assert sorted(d.running for d in duties) == [0, 1]
            first = 0 if duties[0].running else 1
            leaders[first].stop()
            assert _until(lambda: duties[1 - first].running == 1, 10), "the standby takes over"
            assert duties[first].running == 0
        else:  # SQLite: write transactions are serial across processes, each process runs the duty
            assert [d.running for d in duties] == [1, 1]
    finally:
        for leader in leaders:
            leader.stop()
        for engine in engines:
            engine.dispose()
    assert [d.running for d in duties] == [0, 0]
