"""Journeys: event -> first action latency in a running server, and journey steps per second.

1. Latency: a real ``bestnext serve`` (SQLite, processors, timers and dispatch in the process);
   a social message about an open problem is posted to ``/v1/batch`` for each of ``PEOPLE``
   persons, one at a time; we poll the outbox until the journey's answer is there (enqueued)
   and until the sandbox has sent it. p50/p99 of both (goal: p99 <= 1 s).
2. Throughput of one worker: ``LEADS`` leads are appended and attributed, then the journeys
   processor alone runs (entry, count, send through the contact policy into the outbox, wait
   with a durable timer), then the clock moves 2 days and the timers fire the follow-ups.
   Steps per second of the journeys processor and of the timer firing (goal >= 5,000); these
   steps call the NBA service, the contact policy and the outbox.
3. The engine alone: a journey of count/branch/wait steps (instances, step log, durable timers),
   steps per second of one worker.

``summary`` puts the three figures side by side: engine steps/s (3), end-to-end steps/s with the
NBA, contact policy and outbox (2, entry and timer steps together) and the event -> action p99 (1).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine, text

from bestnext.bench.common import percentile
from bestnext.bootstrap import build
from bestnext.clock import VirtualClock
from bestnext.ingest import services as ingest
from bestnext.journeys.engine import JourneyEngine
from bestnext.migrate import upgrade
from bestnext.settings import DEMO_CONFIG_DIR, Settings

PEOPLE = int(os.environ.get("BESTNEXT_BENCH_JOURNEY_PEOPLE", "60"))
LEADS = int(os.environ.get("BESTNEXT_BENCH_JOURNEY_LEADS", "1000"))
BIN = Path(sys.executable).parent / "bestnext"


def _serve(url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    env = {**os.environ, "BESTNEXT_DATABASE_URL": url, "BESTNEXT_LOG_FILE": str(workdir / "serve.log")}
    subprocess.run([str(BIN), "db", "upgrade"], env=env, check=True, capture_output=True)
    made = subprocess.run([str(BIN), "sources", "create", "bench", "--touchpoint", "social", "--json"],
                          env=env, check=True, capture_output=True, text=True)
    key = str(orjson.loads(made.stdout)["write_key"])
    port = 18000 + os.getpid() % 1000
    proc = subprocess.Popen([str(BIN), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base, key
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _message(i: int, run: str) -> dict[str, Any]:
    return {"type": "track", "messageId": f"{run}-{i}", "anonymousId": f"fb-{run}-{i}",
            "event": "Social Message Posted", "timestamp": datetime.now(UTC).isoformat(),
            "properties": {"platform": "facebook", "text": "my token seems dead, help"},
            "context": {"touchpoint": "social", "traits": {"email": f"p{i}-{run}@example.org"}}}


def _latency(workdir: Path) -> dict[str, Any]:
    db = workdir / f"latency-{uuid.uuid4().hex[:6]}.db"
    url = f"sqlite:///{db}"
    proc, base, key = _serve(url, workdir)
    reader = create_engine(url)
    queued: list[float] = []
    sent: list[float] = []
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    run = uuid.uuid4().hex[:6]
    try:
        with httpx.Client(base_url=base, headers=auth, timeout=30) as client:
            for i in range(PEOPLE):
                started = time.perf_counter()
                client.post("/v1/batch", json={"batch": [_message(i, run)]}).raise_for_status()
                q, s = _wait_for(reader, f"{run}-{i}", started)
                queued.append(q)
                sent.append(s)
    finally:
        proc.terminate()
        proc.wait(15)
        reader.dispose()
    return {"people": PEOPLE, "enqueued_p50_s": round(percentile(queued, 0.5), 3),
            "enqueued_p99_s": round(percentile(queued, 0.99), 3),
            "sent_p50_s": round(percentile(sent, 0.5), 3), "sent_p99_s": round(percentile(sent, 0.99), 3),
            "goal_p99_s": 1.0}


def _wait_for(reader: Any, message_id: str, started: float) -> tuple[float, float]:
    query = text("SELECT status FROM outbox WHERE based_on LIKE :m")
    queued = float("nan")
    deadline = started + 30
    while time.perf_counter() < deadline:
        with reader.connect() as conn:
            status = conn.execute(query, {"m": f'%"{message_id}"%'}).scalar()
        now = time.perf_counter() - started
        if status is not None and queued != queued:
            queued = now
        if status == "sent":
            return queued, now
        time.sleep(0.005)
    return queued, float("nan")


def _throughput(workdir: Path) -> dict[str, Any]:
    url = f"sqlite:///{workdir / f'steps-{uuid.uuid4().hex[:6]}.db'}"
    start = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    clock = VirtualClock(start)
    c = build(Settings(database_url=url, environment="test", log_file=workdir / "steps.log",
                       sqlite_synchronous="NORMAL"), clock)
    upgrade(c.engine)
    journeys = c.pipeline.processors.pop()  # attribute first, then time the journeys alone
    messages = []
    for i in range(LEADS):
        base = {"anonymousId": f"lead-{i}", "timestamp": start.isoformat(), "context": {"touchpoint": "partner"}}
        messages += [{**base, "type": "identify", "messageId": f"i{i}", "traits": {"phone": f"+39333{i:07d}"}},
                     {**base, "type": "track", "messageId": f"l{i}", "event": "Lead Received",
                      "properties": {"product": "pension_fund", "preferred_channel": "sms"}}]
    with c.engine.begin() as conn:
        source = ingest.ensure_source(conn, "bench", "partner", start)
        ingest.accept(conn, source, messages, start)
    c.pipeline.run_until_idle()
    engine: JourneyEngine = c.service("journeys")
    c.pipeline.processors = [journeys]
    c.pipeline.processors[0].name = "journeys"
    t0 = time.perf_counter()
    c.pipeline.run_until_idle()
    entry_s = time.perf_counter() - t0
    entry_steps = engine.steps_run
    clock.advance_to(start + timedelta(days=2, hours=1))
    t1 = time.perf_counter()
    fired = c.service("timers").fire_due()
    timer_s = time.perf_counter() - t1
    timer_steps = engine.steps_run - entry_steps
    c.dispose()
    return {"leads": LEADS, "entry_steps": entry_steps, "entry_steps_per_s": round(entry_steps / entry_s),
            "timers_fired": fired, "timer_steps": timer_steps,
            "timer_steps_per_s": round(timer_steps / timer_s) if timer_s else None, "goal_steps_per_s": 5000}


ENGINE_ONLY = """
id: tick
entry: [{event: Tick}]
reentry: {mode: always}
steps:
  - {id: counted, do: count, var: n, max: 5, on_max: done, next: route}
  - id: route
    do: branch
    cases: [{when: [{field: vars.n, op: ">=", value: 1}], next: pause}]
    default: done
  - {id: pause, do: wait, for: 1m}
  - {id: again, do: count, var: n, max: 5, on_max: done}
  - {id: done, do: end}
"""


def _engine_only(workdir: Path) -> dict[str, Any]:
    """The engine alone (instances, step log, durable timers): a journey of count/branch/wait steps."""
    config = workdir / f"bank-{uuid.uuid4().hex[:6]}"
    shutil.copytree(DEMO_CONFIG_DIR, config)
    for old in (config / "journeys").glob("*.yaml"):
        old.unlink()
    (config / "journeys" / "tick.yaml").write_text(ENGINE_ONLY)
    start = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    clock = VirtualClock(start)
    c = build(Settings(database_url=f"sqlite:///{config / 'bench.db'}", environment="test",
                       log_file=workdir / "engine.log", sqlite_synchronous="NORMAL", config_dir=config), clock)
    upgrade(c.engine)
    journeys = c.pipeline.processors.pop()
    with c.engine.begin() as conn:
        source = ingest.ensure_source(conn, "bench", "web", start)
        ingest.accept(conn, source, [{"type": "track", "event": "Tick", "messageId": f"t{i}", "userId": f"U{i}",
                                      "timestamp": start.isoformat(), "context": {"touchpoint": "web"}}
                                     for i in range(LEADS)], start)
    c.pipeline.run_until_idle()
    engine: JourneyEngine = c.service("journeys")
    c.pipeline.processors = [journeys]
    t0 = time.perf_counter()
    c.pipeline.run_until_idle()
    clock.advance_to(start + timedelta(minutes=2))
    c.service("timers").fire_due()
    elapsed = time.perf_counter() - t0
    c.dispose()
    return {"instances": LEADS, "steps": engine.steps_run, "steps_per_s": round(engine.steps_run / elapsed),
            "goal_steps_per_s": 5000}


def run(workdir: Path) -> dict[str, Any]:
    latency, throughput, engine_only = _latency(workdir), _throughput(workdir), _engine_only(workdir)
    end_to_end = throughput["entry_steps"] + throughput["timer_steps"]
    seconds = (throughput["entry_steps"] / throughput["entry_steps_per_s"]
               + (throughput["timer_steps"] / throughput["timer_steps_per_s"] if throughput["timer_steps_per_s"] else 0))
    summary = {"engine_steps_per_s": engine_only["steps_per_s"],
               "end_to_end_steps_per_s": round(end_to_end / seconds) if seconds else None,
               "event_to_action_p99_s": latency["enqueued_p99_s"], "event_to_sent_p99_s": latency["sent_p99_s"],
               "goal_steps_per_s": 5000, "goal_p99_s": 1.0}
    return {"summary": summary, "latency": latency, "throughput": throughput, "engine_only": engine_only}


if __name__ == "__main__":
    print(orjson.dumps(run(Path("var/bench/journeys")), option=orjson.OPT_INDENT_2).decode())
