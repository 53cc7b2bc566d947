"""Cross-process wake-ups: a commit through one engine wakes the processors of another
(LISTEN/NOTIFY on PostgreSQL, ``PRAGMA data_version`` on SQLite), on commit only."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, Engine

from bestnext.db import create_db_engine
from bestnext.eventlog import BackgroundRunner, LoggedEvent, NewEvent, Notifier, Pipeline, store, wake

T0 = datetime(2025, 2, 21, 10, 35, tzinfo=UTC)
NEVER = 3600.0  # a poll interval no test waits for
WAIT = 30.0  # how long a test waits for a wake-up before it fails (they take milliseconds)


def _event(i: int) -> NewEvent:
    return NewEvent(source_id="web", message_id=f"w-{i}", type="track", touchpoint="web",
                    occurred_at=T0, received_at=T0, payload={"event": "Seen"}, event="Seen",
                    anonymous_id="a-1")


@pytest.fixture
def other(db_url: str) -> Iterator[Engine]:
    """A second engine on the same database: another process's connections."""
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def watched(other: Engine) -> Iterator[tuple[Notifier, wake._Watcher]]:
    notifier = Notifier()
    watcher = wake.watcher(other, notifier)
    watcher.start()
    assert watcher.ready.wait(10)
    yield notifier, watcher
    watcher.stop()


def _reason(engine: Engine) -> str:
    return wake.NOTIFICATION if engine.dialect.name == "postgresql" else wake.DATA_VERSION


def test_a_commit_of_another_engine_wakes_the_waiting_notifier(
        engine: Engine, watched: tuple[Notifier, wake._Watcher]) -> None:
    notifier, watcher = watched
    with engine.begin() as conn:
        store.append(conn, [_event(1)])
        store.append(conn, [_event(2)])  # one notification for the transaction
    assert notifier.wait(WAIT) == _reason(engine)
    assert watcher.wakes >= 1


def test_a_rolled_back_append_wakes_nobody(engine: Engine, watched: tuple[Notifier, wake._Watcher]) -> None:
    notifier, watcher = watched
    with engine.connect() as conn:
        conn.begin()
        store.append(conn, [_event(1)])
        conn.rollback()
    assert notifier.wait(0.5) is None
    assert watcher.wakes == 0
    with engine.begin() as conn:  # and the watcher still works after that
        store.append(conn, [_event(2)])
    assert notifier.wait(WAIT) == _reason(engine)


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[int] = []

    def handle(self, conn: Connection, batch: Sequence[LoggedEvent]) -> None:
        self.seen.extend(e.seq for e in batch)


class IdleSignal(Pipeline):
    """A pipeline that says when a pass over the log has ended."""

    def __init__(self, engine: Engine, processors: Sequence[Recorder]) -> None:
        super().__init__(engine, processors)
        self.idle = threading.Event()

    def run_until_idle(self) -> int:
        try:
            return super().run_until_idle()
        finally:
            self.idle.set()


def test_a_worker_blocked_on_a_long_poll_processes_another_engines_event(engine: Engine, other: Engine) -> None:
    recorder, notifier = Recorder(), Notifier()
    pipeline = IdleSignal(other, [recorder])
    runner = BackgroundRunner(pipeline, notifier, poll=NEVER)
    runner.start()
    try:
        assert runner.watcher is not None and runner.watcher.ready.wait(10)
        # the runner's first pass (over an empty log) is over: only a wake-up can run it again
        assert pipeline.idle.wait(10)
        with engine.begin() as conn:
            store.append(conn, [_event(1)])
        woke = eventually(lambda: bool(recorder.seen))
        assert woke, "the worker was not woken"
        assert runner.watcher.wakes >= 1
    finally:
        runner.stop()


def eventually(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_announce_is_a_no_op_on_sqlite_and_refuses_unknown_topics(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            wake.announce(conn, "anything")  # nothing is sent: the watcher reads the file
        else:
            with pytest.raises(ValueError):
                wake.announce(conn, "x'; DROP TABLE events; --")


def test_a_queued_action_wakes_the_dispatchers_listener_and_not_the_processors(
        engine: Engine, other: Engine) -> None:
    from bestnext.channels import outbox
    from bestnext.channels.model import OutboundAction

    if engine.dialect.name != "postgresql":
        assert wake.listener(other, Notifier(), frozenset({wake.OUTBOX})) is None  # SQLite: the poll
        return
    flag, events = threading.Event(), Notifier()
    dispatch = wake.listener(other, wake.Flag(flag), frozenset({wake.OUTBOX}))
    processors = wake.watcher(other, events)
    assert dispatch is not None
    for part in (dispatch, processors):
        part.start()
        assert part.ready.wait(10)
    try:
        with engine.begin() as conn:
            outbox.enqueue(conn, OutboundAction(person_id="p-1", channel="email", purpose="service",
                                                action="statement_ready", due_at=T0))
        assert flag.wait(WAIT) and dispatch.wakes == 1
        with engine.begin() as conn:  # an event after it: only the processors' watcher wakes
            store.append(conn, [_event(1)])
        assert events.wait(WAIT) == wake.NOTIFICATION
        assert processors.wakes == 1 and dispatch.wakes == 1
    finally:
        for part in (dispatch, processors):
            part.stop()


def test_an_append_after_a_rolled_back_savepoint_still_wakes(
        engine: Engine, watched: tuple[Notifier, wake._Watcher]) -> None:
    notifier, _ = watched
    with engine.begin() as conn:
        savepoint = conn.begin_nested()
        store.append(conn, [_event(1)])
        savepoint.rollback()  # its notification goes with it
        store.append(conn, [_event(2)])
    assert notifier.wait(WAIT) == _reason(engine)
