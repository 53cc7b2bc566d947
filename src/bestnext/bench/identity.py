"""Identity resolution and profiles: batch throughput and per-event real-time latency.

For SQLite and PostgreSQL: a log of realistic messages (customers on their devices, anonymous
browsing, identifies that link devices to emails and phones, social ids, aliases, some
merges) is appended, then the identity and profiles processors catch up in batches of 500
(throughput, and the CPU time an event costs this process and, on PostgreSQL, the server's
backends); then single events are appended and processed one at a time, as `serve` does
when woken on each append (latency from append to attributed-and-profiled, p50/p99).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text

from bestnext import logging as bn_logging
from bestnext.bench.common import cpu_seconds, on_both, percentile, with_engine
from bestnext.clock import SystemClock
from bestnext.eventlog import NewEvent, Pipeline
from bestnext.eventlog import store as log
from bestnext.identity.processor import IdentityProcessor
from bestnext.identity.tables import identity_merges, persons
from bestnext.profiles.processor import ProfilesProcessor

EVENTS = int(os.environ.get("BESTNEXT_BENCH_IDENTITY_EVENTS", "20000"))
SINGLES = int(os.environ.get("BESTNEXT_BENCH_IDENTITY_SINGLES", "300"))
T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)


def message(i: int) -> dict[str, Any]:
    """The i-th message of a realistic mix (deterministic)."""
    kind, n = i % 20, i // 20
    msg: dict[str, Any] = {"messageId": f"b-{i}", "timestamp": (T0 + timedelta(seconds=i)).isoformat(),
                           "context": {"touchpoint": "web"}}
    if kind < 8:  # a customer on one of their devices
        msg |= {"type": "track", "event": "E-banking Login", "userId": f"C{n % 3000:06d}",
                "anonymousId": f"dev-{n % 3000}-{n % 2}"}
    elif kind < 14:  # anonymous browsing of product pages
        msg |= {"type": "page", "anonymousId": f"web-{n % 6000}", "name": "Mutui",
                "properties": {"path": "/mutui"}}
    elif kind < 17:  # a form that names the visitor
        msg |= {"type": "identify", "anonymousId": f"web-{n % 6000}",
                "traits": {"email": f"p{n % 4000}@example.org", "phone": f"+39333{n % 4000:07d}"}}
    elif kind < 19:  # a social post naming an email already known
        msg |= {"type": "track", "event": "Social Message Posted", "anonymousId": f"fb-{n % 2000}",
                "context": {"touchpoint": "social", "traits": {"email": f"p{n % 4000}@example.org"},
                            "externalIds": [{"id": f"{n % 2000}", "type": "facebook_id"}]}}
    else:  # the customer logs in from a browser seen anonymously before: a merge
        msg |= {"type": "alias", "previousId": f"web-{n % 6000}", "userId": f"C{n % 3000:06d}"}
    return msg


def _event(msg: dict[str, Any], now: datetime) -> NewEvent:
    return NewEvent(source_id="bench", message_id=msg["messageId"], type=msg["type"],
                    touchpoint=msg["context"].get("touchpoint", "web"),
                    occurred_at=datetime.fromisoformat(msg["timestamp"]), received_at=now,
                    payload=msg, event=msg.get("event"), user_id=msg.get("userId"),
                    anonymous_id=msg.get("anonymousId"))


def measure(engine: Engine) -> dict[str, Any]:
    clock = SystemClock()
    pipeline = Pipeline(engine, [IdentityProcessor(clock), ProfilesProcessor()], batch_size=500)
    with engine.begin() as conn:
        for i in range(0, EVENTS, 1000):
            log.append(conn, [_event(message(j), clock.now()) for j in range(i, min(EVENTS, i + 1000))])
    server, cpu, started = server_cpu(engine), time.process_time(), time.perf_counter()
    pipeline.run_until_idle()
    elapsed = time.perf_counter() - started
    cpu, server = time.process_time() - cpu, server_cpu(engine) - server
    latencies = []
    for i in range(EVENTS, EVENTS + SINGLES):
        began = time.perf_counter()
        with engine.begin() as conn:
            log.append(conn, [_event(message(i), clock.now())])
        pipeline.run_until_idle()
        latencies.append(time.perf_counter() - began)
    with engine.connect() as conn:
        merges = conn.execute(select(func.count()).select_from(identity_merges)).scalar_one()
        people = conn.execute(select(func.count()).select_from(persons)
                              .where(persons.c.absorbed_into.is_(None))).scalar_one()
    return {"events": EVENTS, "batch_events_per_s": round(EVENTS / elapsed),
            "batch_cpu_us_per_event": round(1e6 * cpu / EVENTS, 1),
            "batch_server_cpu_us_per_event": round(1e6 * server / EVENTS, 1),
            "single_event_ms_p50": round(1000 * percentile(latencies, 0.5), 2),
            "single_event_ms_p99": round(1000 * percentile(latencies, 0.99), 2),
            "persons": people, "merges": merges}


def server_cpu(engine: Engine) -> float:
    """CPU seconds of the database's server processes so far (PostgreSQL backends of this
    database, read from /proc: the server is local); 0 on SQLite, which runs in this process."""
    if engine.dialect.name != "postgresql":
        return 0.0
    with engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars()
        return sum(cpu_seconds(pid) for pid in pids if Path(f"/proc/{pid}").exists())


def run(workdir: Path) -> dict[str, Any]:
    # as the product logs (JSON lines to the log file, INFO): not pretty-printed to a terminal
    bn_logging.configure("INFO", workdir / "bench.log")
    return on_both(workdir / "identity.db", lambda url: with_engine(url, measure), "bestnext_bench_identity")
