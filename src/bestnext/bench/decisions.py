"""Decision latency with a generated catalog of 200 actions.

* in-process: p50/p99 of the pure ``decide`` (goal: p99 <= 1 ms);
* over HTTP: ``POST /v1/decisions`` against one ``bestnext serve`` process (API only, then with
  its background workers), on SQLite and on PostgreSQL, for 200 different people in turn, with 1
  and 8 keep-alive clients (goal: >= 2,000
  decisions/s at p99 <= 10 ms), with the CPU the server and the clients spent per decision
  (robust to a busy machine, unlike decisions/s).
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import psycopg
import yaml
from sqlalchemy import select

from bestnext.access import Role
from bestnext.access.store import create_key
from bestnext.bench.common import cpu_seconds, fresh_sqlite, pg_database
from bestnext.consent import services as consent
from bestnext.consent.model import ConsentEntry, ConsentState, Purpose, Source
from bestnext.db import create_db_engine
from bestnext.decisions.arbitration import PolicyInputs, decide
from bestnext.decisions.catalog import Catalog, parse_catalog
from bestnext.decisions.consent_use import bind
from bestnext.decisions.contact_policy import ContactState, load_config
from bestnext.decisions.learning.bank import ModelBank
from bestnext.decisions.model import DecisionContext
from bestnext.decisions.posteriors import PosteriorTable
from bestnext.decisions.profile_view import build_view
from bestnext.eventlog.tables import events
from bestnext.ingest.services import create_source
from bestnext.migrate import upgrade
from bestnext.settings import DEMO_CONFIG_DIR

BIN = Path(sys.executable).parent / "bestnext"
PERSONS = 200  # the HTTP clients ask for these people in turn

PRODUCTS = ["current_account", "savings_junior", "prepaid_card", "pension_fund", "family_mortgage"]
CHANNELS = ["email", "sms", "call_center", "branch", "push", "app"]
AT = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def generated_catalog(n: int = 200, seed: int = 1) -> dict[str, Any]:
    """A catalog of ``n`` marketing/service actions with rules, offers and 2-4 treatments each."""
    rng = np.random.default_rng(seed)
    offers = [{"id": f"offer_{i}", "description": {"it": f"offerta {i}", "en": f"offer {i}"},
               "conditions": [{"field": "age", "op": "<=", "value": int(rng.integers(30, 70))}],
               "budget": 100000} for i in range(20)]
    actions = []
    for i in range(n):
        channels = rng.choice(CHANNELS, size=int(rng.integers(2, 5)), replace=False)
        actions.append({
            "id": f"action_{i:03d}", "purpose": "marketing" if i % 10 else "service",
            "product": PRODUCTS[i % len(PRODUCTS)], "value": float(rng.integers(10, 300)),
            "eligibility": [{"field": "age", "op": ">=", "value": int(rng.integers(16, 30))}],
            "suitability": [{"any": [{"field": "monthly_income", "op": "missing"},
                                     {"field": "monthly_income", "op": ">=", "value": 1000}]}],
            "levers": {"weight": 1.0, "priority": float(rng.integers(1, 4))},
            "offers": [f"offer_{int(rng.integers(0, 20))}"] if i % 3 == 0 else [],
            "context_weights": {"browse": 1.0, "default": 0.5},
            "treatments": {str(c): {"text": {"it": "Ciao {{ first_name }}, " + f"proposta {i}",
                                             "en": "Hi {{ first_name }}, " + f"proposal {i}"}}
                           for c in channels}})
    return {"version": f"bench-{n}", "offers": offers, "actions": actions}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(1000 * ordered[len(ordered) // 2], 3),
            "p99_ms": round(1000 * ordered[int(len(ordered) * 0.99) - 1], 3),
            "mean_ms": round(1000 * statistics.fmean(ordered), 3)}


def in_process(catalog: Catalog, runs: int = 2000) -> dict[str, Any]:
    t = datetime(2020, 1, 1, tzinfo=UTC)
    consent = bind(ConsentState("p", tuple(ConsentEntry(Purpose(p), True, Source("web"), t)
                                           for p in ("personal_data", "own_marketing", "profiling"))))
    view = build_view("p", {"age": 34, "first_name": "Anna"}, lifecycle_stage="customer",
                      holdings=["current_account"], interests=["pension_fund"], household={"id": "h"},
                      event_count=40, at=AT)
    bank, rng = ModelBank(), np.random.default_rng(1)
    for a in catalog.actions[:50]:
        for c in a.treatments:
            for _ in range(5):
                bank.learn(a.id, c, {**view.features, f"ctx:channel={c}": 1.0}, float(rng.random() < 0.2))
    policy = PolicyInputs(ContactState("p"), load_config(DEMO_CONFIG_DIR))
    table = PosteriorTable(bank)
    samples = []
    for i in range(runs + 100):
        started = time.perf_counter()
        decide(view, DecisionContext(at=AT, language="en"), catalog, policy, table,
               consent=consent, n=3, rng=rng)
        if i >= 100:  # warm-up
            samples.append(time.perf_counter() - started)
    return {"runs": runs, "actions": len(catalog.actions), **_percentiles(samples)}


def _config_dir(workdir: Path, catalog: dict[str, Any]) -> Path:
    folder = workdir / "bank"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(DEMO_CONFIG_DIR, folder)
    (folder / "catalog.yaml").write_text(yaml.safe_dump(catalog, allow_unicode=True))
    return folder


def _start(env: dict[str, str], port: int, workers: bool = True) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([str(BIN), "serve", "--port", str(port), *([] if workers else ["--no-workers"])],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _persons(base: str, write_key: str, db_url: str, n: int) -> list[str]:
    """``n`` people with their own traits (ages 18-77, some incomes) who granted consent."""
    ts = "2025-03-01T10:00:00+01:00"
    batch: list[dict[str, Any]] = []
    for i in range(n):
        traits: dict[str, Any] = {"first_name": f"Anna{i}", "age": 18 + i % 60}
        if i % 3:
            traits["monthly_income"] = 500 + 150 * (i % 20)
        batch += [{"type": "identify", "messageId": f"bench-{i}-1", "timestamp": ts, "userId": f"B{i}",
                   "traits": traits},
                  {"type": "track", "messageId": f"bench-{i}-2", "timestamp": ts, "userId": f"B{i}",
                   "event": "Consent Preferences Updated",
                   "properties": {"purposes": {"personal_data": True, "own_marketing": True,
                                               "profiling": i % 4 != 0}}}]
    for start in range(0, len(batch), 100):
        httpx.post(f"{base}/v1/batch", json={"batch": batch[start:start + 100]}, auth=(write_key, ""),
                   timeout=30).raise_for_status()
    engine = create_db_engine(db_url)
    try:
        for _ in range(600):
            with engine.connect() as conn:
                persons = [str(p) for p in conn.execute(select(events.c.person_id).where(
                    events.c.message_id.like("bench-%-2"), events.c.person_id.is_not(None))).scalars()]
                last = consent.state(conn, persons[-1]) if len(persons) == n else None
            if last is not None and last.history:
                time.sleep(1.0)  # let the later processors catch up
                return persons
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise RuntimeError("the bench people were never attributed")


def _http_run(base: str, headers: dict[str, str], bodies: list[bytes], seconds: float, connections: int,
              processes: int, workdir: Path, server: int) -> dict[str, Any]:
    """``connections`` keep-alive clients in each of ``processes`` client processes (asyncio,
    raw HTTP/1.1: the clients must not be the bottleneck nor share the server's process); the
    CPU seconds of the server (``/proc``) and of the clients per decision."""
    from bestnext.bench.httpload import run_workers

    cpu = cpu_seconds(server)
    found = run_workers(base, "/v1/decisions", bodies, headers, seconds, connections, processes, workdir)
    cpu = cpu_seconds(server) - cpu
    samples, took = found["samples"], found["seconds"]
    done = max(len(samples), 1)
    return {"clients": connections * processes, "client_processes": processes, "seconds": round(took, 1),
            "decisions": len(samples), "errors": found["errors"], "per_second": round(len(samples) / took, 1),
            **(_percentiles(samples) if samples else {}),
            "server_cpu_us_per_decision": round(cpu / done * 1e6, 1),
            "client_cpu_us_per_decision": round(found["client_cpu_s"] / done * 1e6, 1)}


def _over_http(db_url: str, raw: dict[str, Any], workdir: Path) -> list[dict[str, Any]]:
    """Decisions/s and latency against one ``bestnext serve`` process on ``db_url``."""
    engine = create_db_engine(db_url)
    upgrade(engine)
    with engine.begin() as conn:
        agent = create_key(conn, "bench", Role.AGENT, datetime.now(UTC))[1]
        write_key = create_source(conn, "bench", "web", datetime.now(UTC))[1]
    engine.dispose()
    env = {**os.environ, "BESTNEXT_DATABASE_URL": db_url, "BESTNEXT_CONFIG_DIR": str(_config_dir(workdir, raw)),
           "BESTNEXT_LOG_LEVEL": "WARNING", "BESTNEXT_SQLITE_SYNCHRONOUS": "NORMAL"}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    base = f"http://127.0.0.1:{port}"
    proc = _start(env, port)  # the processors attribute the people and record their consent
    try:
        bodies = [orjson.dumps({"person_id": p, "n": 3}) for p in _persons(base, write_key, db_url, PERSONS)]
    finally:
        _stop(proc)
    headers = {"Authorization": f"Bearer {agent}"}
    runs: list[dict[str, Any]] = []
    for workers, shapes in ((False, ((1, 1), (4, 2))), (True, ((4, 2),))):
        proc = _start(env, port, workers)
        try:
            _http_run(base, headers, bodies, 2.0, 4, 1, workdir, proc.pid)  # warm-up
            runs += [{"server": "serve" if workers else "serve --no-workers",
                      **_http_run(base, headers, bodies, 10.0, c, p, workdir, proc.pid)} for c, p in shapes]
        finally:
            _stop(proc)
    return runs


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(15)


def run(workdir: Path) -> dict[str, Any]:
    raw = generated_catalog()
    catalog = parse_catalog(yaml.safe_dump(raw), "generated")
    result: dict[str, Any] = {"in_process": in_process(catalog), "persons": PERSONS,
                              "server": "one `bestnext serve` process: the API alone (--no-workers, as in "
                                        "production), and with the processors, dispatch and timers in it"}
    result["http"] = _over_http(fresh_sqlite(workdir / "bench.db"), raw, workdir)
    try:
        url, drop = pg_database()
    except psycopg.OperationalError as exc:
        result["http_postgresql"] = {"error": f"PostgreSQL unavailable: {exc}"}
    else:
        try:
            result["http_postgresql"] = _over_http(url, raw, workdir)
        finally:
            drop()
    result["goals"] = {"in_process_p99_ms": 1.0, "http_per_second": 2000, "http_p99_ms": 10.0}
    result["load_average"] = os.getloadavg()  # the figures mean little on a busy machine
    return result
