"""The event log and the processor pipeline on real SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine

from bestnext.eventlog import LoggedEvent, NewEvent, Pipeline, store

T0 = datetime(2025, 2, 21, 10, 35, tzinfo=UTC)


def _event(i: int, source: str = "web") -> NewEvent:
    return NewEvent(source_id=source, message_id=f"m-{i}", type="track", touchpoint="web",
                    occurred_at=T0, received_at=T0, payload={"event": "Seen", "i": i},
                    event="Seen", anonymous_id=f"a-{i % 3}")


class Recorder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[int] = []

    def handle(self, conn: Connection, batch: Sequence[LoggedEvent]) -> None:
        self.seen.extend(e.seq for e in batch)


def test_append_deduplicates_on_source_and_message_id(engine: Engine) -> None:
    with engine.begin() as conn:
        assert store.append(conn, [_event(1), _event(2)]) == 2
    with engine.begin() as conn:
        assert store.append(conn, [_event(1), _event(3)]) == 1
        assert store.append(conn, [_event(1, source="app")]) == 1
    with engine.connect() as conn:
        rows = store.read_after(conn, 0, 100)
    assert [(e.source_id, e.message_id) for e in rows] == [
        ("web", "m-1"), ("web", "m-2"), ("web", "m-3"), ("app", "m-1")]
    assert rows[0].occurred_at == T0 and rows[0].payload == {"event": "Seen", "i": 1}


def test_pipeline_runs_in_order_with_checkpoints(engine: Engine) -> None:
    with engine.begin() as conn:
        store.append(conn, [_event(i) for i in range(25)])
    first, second = Recorder("first"), Recorder("second")
    pipeline = Pipeline(engine, [first, second], batch_size=10)
    assert pipeline.run_until_idle() == 50
    assert first.seen == second.seen == sorted(first.seen)
    assert len(set(first.seen)) == 25
    # a new pipeline (a restart) resumes from the stored checkpoints and repeats nothing
    again = Recorder("first")
    assert Pipeline(engine, [again], batch_size=10).run_until_idle() == 0
    with engine.begin() as conn:
        store.append(conn, [_event(99)])
    assert Pipeline(engine, [again, Recorder("second")]).run_until_idle() == 2
    assert len(again.seen) == 1


def test_a_failing_processor_commits_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        store.append(conn, [_event(1)])

    class Boom(Recorder):
        def handle(self, conn: Connection, batch: Sequence[LoggedEvent]) -> None:
            store.save_checkpoint(conn, "side-effect", 42)
            raise RuntimeError("boom")

    try:
        Pipeline(engine, [Boom("boom")]).run_until_idle()
    except RuntimeError:
        pass
    with engine.connect() as conn:
        assert store.checkpoint(conn, "boom") == 0
        assert store.checkpoint(conn, "side-effect") == 0
