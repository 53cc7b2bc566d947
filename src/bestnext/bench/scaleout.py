"""Scale-out: latency from an event committed by one process to its processing by a worker
process (``serve --no-workers`` + ``bestnext worker --role processors``).

For SQLite and PostgreSQL, a worker process runs the full processor pipeline with a 1 s poll,
either polling only (``poll``: how workers of other processes noticed new events before) or
watching the database (``wake``: LISTEN/NOTIFY, ``PRAGMA data_version``). This process appends
single events at random moments and times each until the last processor's checkpoint passes it
(checked every millisecond). The worker's CPU time per event is reported too (the machine is
shared and noisy: look at both).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bestnext.bench.common import on_both
from bestnext.db import create_db_engine
from bestnext.eventlog import NewEvent
from bestnext.eventlog import store as log

EVENTS = int(os.environ.get("BESTNEXT_BENCH_SCALEOUT_EVENTS", "60"))
POLL = 1.0


def _worker(url: str, var: str, cross_process: bool, inbox: Any, outbox: Any) -> None:
    """The worker process: the processors pipeline until told to stop; reports its CPU time."""
    from bestnext.bootstrap import build
    from bestnext.eventlog import BackgroundRunner
    from bestnext.settings import Settings

    c = build(Settings(database_url=url, environment="test", var_dir=Path(var), log_file=Path(var) / "w.log"))
    runner = BackgroundRunner(c.pipeline, c.notifier, poll=POLL, cross_process=cross_process)
    runner.start()
    if runner.watcher is not None:
        runner.watcher.ready.wait(10)
    outbox.put(c.pipeline.processors[-1].name)
    cpu = time.process_time()
    inbox.get()
    outbox.put(time.process_time() - cpu)
    runner.stop()
    c.dispose()


def _event(i: int) -> NewEvent:
    now = datetime.now(UTC)
    return NewEvent(source_id="bench", message_id=f"s-{uuid.uuid4().hex}", type="track", touchpoint="web",
                    occurred_at=now, received_at=now, event="E-banking Login", user_id=f"C{i % 50:06d}",
                    payload={"type": "track", "event": "E-banking Login", "userId": f"C{i % 50:06d}"})


def _processed(engine: Engine, last: str, seq: int, timeout: float = 10.0) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with engine.connect() as conn:
            if log.checkpoint(conn, last) >= seq:
                return time.perf_counter()
        time.sleep(0.001)
    raise TimeoutError("the worker did not process the event")


def measure(url: str, var: Path, cross_process: bool) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    inbox, outbox = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_worker, args=(url, str(var), cross_process, inbox, outbox))
    proc.start()
    engine, rng = create_db_engine(url), random.Random(3)
    try:
        last = outbox.get(timeout=60)
        latencies = []
        for i in range(EVENTS):
            time.sleep(rng.uniform(0.0, POLL))  # a random moment of the worker's poll cycle
            with engine.begin() as conn:
                log.append(conn, [_event(i)])
                seq = log.head(conn)
            committed = time.perf_counter()
            latencies.append(_processed(engine, last, seq) - committed)
        inbox.put("stop")
        cpu = outbox.get(timeout=60)
    finally:
        proc.join(timeout=30)
        engine.dispose()
    ordered = sorted(latencies)
    return {"events": EVENTS, "p50_ms": round(1000 * statistics.median(ordered), 1),
            "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1),
            "max_ms": round(1000 * ordered[-1], 1),
            "worker_cpu_ms_per_event": round(1000 * cpu / EVENTS, 2)}


def _both_modes(url: str, var: Path) -> dict[str, Any]:
    return {"poll": measure(url, var, cross_process=False), "wake": measure(url, var, cross_process=True)}


def run(workdir: Path) -> dict[str, Any]:
    return {"poll_s": POLL, **on_both(workdir / "scaleout.db", lambda url: _both_modes(url, workdir),
                                      "bestnext_bench_scaleout")}
