"""Ingest throughput through ``/v1/batch`` beside a bare insert of the same rows.

For SQLite and PostgreSQL: one ``bestnext serve --no-workers`` process (processors off, so the
figure is collection alone), batches of 100 messages posted over several keep-alive client
connections at once; then the same rows inserted bare (``executemany``, one commit per batch
of 100) into a fresh database with the same schema and the same durability (SQLite WAL with
the shipped ``synchronous`` setting; PostgreSQL with ``synchronous_commit`` on). API and bare
runs alternate over several rounds; the round of median ratio is reported, with all rounds.
"""

from __future__ import annotations

import base64
import http.client
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg

from bestnext.bench.common import cpu_seconds, percentile, pg_database
from bestnext.db import create_db_engine
from bestnext.ingest import services
from bestnext.ingest.model import Source, to_event
from bestnext.migrate import upgrade
from bestnext.settings import Settings

BATCH = 100
BATCHES = int(os.environ.get("BESTNEXT_BENCH_INGEST_BATCHES", "500"))
CONNECTIONS = int(os.environ.get("BESTNEXT_BENCH_INGEST_CONNECTIONS", "8"))
ROUNDS = int(os.environ.get("BESTNEXT_BENCH_INGEST_ROUNDS", "5"))
BIN = Path(sys.executable).parent / "bestnext"
EVENTS = ["E-banking Login", "Page Viewed", "Form Submitted", "Transfer Failed", "Branch Visited"]


def _message(i: int, run: str) -> dict[str, Any]:
    at = datetime(2025, 3, 1, 9, tzinfo=UTC) + timedelta(seconds=i)
    return {
        "type": "track", "messageId": f"{run}-{i}", "userId": f"C{i % 5000:06d}",
        "anonymousId": f"dev-{i % 7000}", "event": EVENTS[i % len(EVENTS)],
        "timestamp": at.isoformat(), "properties": {"product": "prepaid_card", "amount": i % 997,
                                                    "path": "/carte/prepagata", "currency": "EUR"},
        "context": {"touchpoint": "web", "library": {"name": "analytics-python", "version": "2.4.0"},
                    "ip": "10.0.0.1", "locale": "it-IT"},
    }


def _batches(run: str) -> list[list[dict[str, Any]]]:
    return [[_message(b * BATCH + j, run) for j in range(BATCH)] for b in range(BATCHES)]


def _post_all(base_url: str, key: str, bodies: list[bytes]) -> tuple[float, list[float]]:
    """Post every body over ``CONNECTIONS`` concurrent keep-alive connections.

    The client is ``http.client`` (a few µs of CPU a request, like a load generator), not httpx
    (~1 ms): on a 2-core machine the client's CPU is taken from the server's.
    """
    auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
            "Content-Type": "application/json"}
    host, port = base_url.removeprefix("http://").split(":")
    latencies: list[float] = []
    lock, cursor = threading.Lock(), iter(bodies)
    failures: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            while (body := _next(lock, cursor)) is not None:
                started = time.perf_counter()
                conn.request("POST", "/v1/batch", body=body, headers=auth)
                response = conn.getresponse()
                answer = response.read()
                elapsed = time.perf_counter() - started
                if response.status != 200:
                    failures.append(answer[:200].decode(errors="replace"))
                with lock:
                    latencies.append(elapsed)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed: {failures[0]}")
    return total, latencies


def _next(lock: threading.Lock, cursor: Iterator[bytes]) -> bytes | None:
    with lock:
        return next(cursor, None)


def _serve(url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "BESTNEXT_DATABASE_URL": url, "BESTNEXT_LOG_FILE": str(workdir / "serve.log")}
    proc = subprocess.Popen([str(BIN), "serve", "--no-workers", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("bestnext serve did not start")


def _rounds(url: str, workdir: Path, bare: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    """``ROUNDS`` rounds of an API run then a bare run (the server up throughout, idle while the
    bare insert runs), so that both see the same machine; the round of median ratio is reported
    with every round's figures (a single short run of either swings by a third on a shared box)."""
    engine = create_db_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        _source, key = services.create_source(conn, "bench", "web", datetime.now(UTC))
    engine.dispose()
    proc, base = _serve(url, workdir)
    rounds = []
    try:
        _post_all(base, key, [orjson.dumps({"batch": b}) for b in _batches("warm")[:20]])
        for r in range(ROUNDS):
            rounds.append(_compare(_api_run(proc.pid, base, key, f"run{r}"), bare(r)))
    finally:
        proc.terminate()
        proc.wait(30)
    median = sorted(rounds, key=lambda c: c["ratio_to_bare"])[len(rounds) // 2]
    return {**median, "rounds": [{"api_events_per_s": c["api"]["events_per_s"],
                                  "bare_events_per_s": c["bare"]["events_per_s"],
                                  "ratio_to_bare": c["ratio_to_bare"]} for c in rounds]}


def _api_run(pid: int, base: str, key: str, run: str) -> dict[str, Any]:
    bodies = [orjson.dumps({"batch": b}) for b in _batches(run)]
    cpu_before = cpu_seconds(pid)
    total, latencies = _post_all(base, key, bodies)
    cpu = cpu_seconds(pid) - cpu_before
    return {"events_per_s": round(BATCH * BATCHES / total), "seconds": round(total, 2),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
            # CPU the server spent per event: robust to a busy machine, unlike events/s.
            "server_cpu_us_per_event": round(cpu / (BATCH * BATCHES) * 1e6, 1)}


def _rows() -> list[list[tuple[Any, ...]]]:
    source = Source("bench-source", "bench", "web", datetime.now(UTC))
    now = datetime.now(UTC)
    out = []
    for batch in _batches("bare"):
        rows = []
        for m in batch:
            e = to_event(m, source, now)
            rows.append((e.source_id, e.message_id, e.type, e.event, e.touchpoint, e.occurred_at,
                         e.received_at, e.user_id, e.anonymous_id, orjson.dumps(e.payload).decode()))
        out.append(rows)
    return out


_INSERT = ("INSERT INTO events (source_id, message_id, type, event, touchpoint, occurred_at, "
           "received_at, user_id, anonymous_id, payload) VALUES ({})")


def _bare(insert: Callable[[list[tuple[Any, ...]]], None],
          batches: list[list[tuple[Any, ...]]]) -> dict[str, Any]:
    started, cpu = time.perf_counter(), time.process_time()
    for rows in batches:
        insert(rows)
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"events_per_s": round(BATCH * BATCHES / total),
            "client_cpu_us_per_event": round(cpu / (BATCH * BATCHES) * 1e6, 1)}


def _bare_sqlite(url: str, batches: list[list[tuple[Any, ...]]]) -> dict[str, Any]:
    import sqlite3

    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    synchronous = Settings().sqlite_synchronous
    db = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    sql = _INSERT.format(", ".join("?" * 10))
    plain = [[(*r[:5], r[5].isoformat(), r[6].isoformat(), *r[7:]) for r in rows] for rows in batches]

    def insert(rows: list[tuple[Any, ...]]) -> None:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(sql, rows)
        db.execute("COMMIT")

    measured = _bare(insert, plain)
    db.close()
    return {**measured, "synchronous": synchronous}


def _bare_pg(url: str, batches: list[list[tuple[Any, ...]]]) -> dict[str, Any]:
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as db:
        db.execute("SET synchronous_commit = on")
        sql = _INSERT.format(", ".join(["%s"] * 9 + ["%s::jsonb"]))

        def insert(rows: list[tuple[Any, ...]]) -> None:
            with db.cursor() as cur:
                cur.executemany(sql, rows)
            db.commit()

        measured = _bare(insert, batches)
        setting = db.execute("SHOW synchronous_commit").fetchone()
    return {**measured, "synchronous_commit": setting[0] if setting else None}


def _compare(api: dict[str, Any], bare: dict[str, Any]) -> dict[str, Any]:
    ratio = api["events_per_s"] / bare["events_per_s"]
    return {"api": api, "bare": bare, "ratio_to_bare": round(ratio, 3),
            # Python CPU per event, bare driver vs server: what events/s tends to on an idle box.
            "cpu_ratio_bare_to_api": round(bare["client_cpu_us_per_event"] / api["server_cpu_us_per_event"], 3),
            "meets_half_of_bare": ratio >= 0.5, "meets_50k": api["events_per_s"] >= 50_000}


def run(workdir: Path) -> dict[str, Any]:
    """Measure both backends; returns events/s, p50/p99 latency and the ratio to bare."""
    batches = _rows()
    result: dict[str, Any] = {"batch_size": BATCH, "batches": BATCHES, "connections": CONNECTIONS,
                              "rounds": ROUNDS,
                              "server": "one `bestnext serve --no-workers` process (processors off)"}
    for old in workdir.glob("*.db*"):
        old.unlink()
    result["sqlite"] = _rounds(f"sqlite:///{workdir / 'api.db'}", workdir,
                               lambda r: _bare_sqlite(f"sqlite:///{workdir / f'bare{r}.db'}", batches))
    try:
        api_url, drop_api = pg_database()
    except psycopg.OperationalError as exc:
        result["postgresql"] = {"error": f"PostgreSQL unavailable: {exc}"}
        return result

    def bare_pg(_round: int) -> dict[str, Any]:
        bare_url, drop_bare = pg_database()
        try:
            return _bare_pg(bare_url, batches)
        finally:
            drop_bare()

    try:
        result["postgresql"] = _rounds(api_url, workdir, bare_pg)
    finally:
        drop_api()
    return result
