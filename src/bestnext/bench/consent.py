"""Consent and privacy: how fast the one policy function decides, how long loading a person's
ledger and deciding takes on SQLite (no cache: every decision reads the ledger), and how long
an erasure with compaction takes as the database grows."""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from bestnext.bootstrap import build
from bestnext.consent import policy, services
from bestnext.consent.model import ConsentEntry, ConsentState, DataCategory, Purpose, Source, Use
from bestnext.eventlog import NewEvent
from bestnext.eventlog import store as log
from bestnext.eventlog.tables import events
from bestnext.migrate import upgrade
from bestnext.privacy import services as privacy
from bestnext.settings import Settings

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _state(rng: random.Random, n: int) -> ConsentState:
    return ConsentState.of("p", [ConsentEntry(rng.choice(tuple(Purpose)), rng.random() < 0.5, Source("web"),
                                              T0 + timedelta(minutes=rng.randrange(1000)), seq=i)
                                 for i in range(n)])


def _policy(rng: random.Random) -> dict[str, float]:
    states = [_state(rng, 14) for _ in range(200)]
    calls = 50_000
    started = time.perf_counter()
    for i in range(calls):
        policy.may(states[i % 200], Use.MARKETING, [DataCategory.BEHAVIOURAL], "email", T0 + timedelta(hours=20))
    return {"policy_may_per_s": round(calls / (time.perf_counter() - started))}


def _percentile(values: list[float], q: float) -> float:
    return round(sorted(values)[int(q * (len(values) - 1))] * 1000, 3)


def _database(workdir: Path, rng: random.Random, people: int) -> dict[str, float]:
    db = workdir / "consent-bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    container = build(Settings(database_url=f"sqlite:///{db}", var_dir=workdir), configure_logging=False)
    upgrade(container.engine)
    ids = [str(uuid.uuid4()) for _ in range(people)]
    with container.engine.begin() as conn:
        for pid in ids:
            services.record(conn, pid, {p: rng.random() < 0.5 for p in Purpose}, Source("branch"), T0)
            log.append(conn, [NewEvent(source_id="web", message_id=f"{pid}-{k}", type="track", touchpoint="web",
                                       occurred_at=T0, received_at=T0, payload={"traits": {"email": f"{pid}@x.it"}},
                                       event="Seen", anonymous_id=pid) for k in range(5)])
            conn.execute(update(events).where(events.c.anonymous_id == pid).values(person_id=pid))
    latencies = []
    for pid in rng.sample(ids, 500):
        started = time.perf_counter()
        with container.engine.connect() as conn:
            services.may(conn, pid, "marketing", ["declared"], "email", None)
        latencies.append(time.perf_counter() - started)
    erase = []
    for pid in rng.sample(ids, 3):
        started = time.perf_counter()
        with container.engine.begin() as conn:
            privacy.erase(conn, pid, T0)
        privacy.compact(container.engine)
        erase.append(time.perf_counter() - started)
    container.dispose()
    return {"people": people, "services_may_p50_ms": _percentile(latencies, 0.5),
            "services_may_p99_ms": _percentile(latencies, 0.99),
            "erase_with_compaction_s": round(statistics.median(erase), 3),
            "database_mb": round(db.stat().st_size / 1e6, 1)}


def run(workdir: Path) -> dict[str, Any]:
    rng = random.Random(5)
    workdir.mkdir(parents=True, exist_ok=True)
    return {**_policy(rng), "sqlite": [_database(workdir, rng, n) for n in (1_000, 10_000)]}
