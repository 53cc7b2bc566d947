"""Decision latency with a generated catalog of 200 actions.

* in-process: p50/p99 of the pure ``decide`` (goal: p99 <= 1 ms);
* over HTTP: ``POST /v1/decisions`` against one ``bestnext serve`` process on SQLite, with
  concurrent clients (goal: >= 2,000 decisions/s at p99 <= 10 ms).
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import yaml

from bestnext.consent.model import ConsentEntry, ConsentState, Purpose, Source
from bestnext.decisions.arbitration import PolicyInputs, decide
from bestnext.decisions.catalog import Catalog, parse_catalog
from bestnext.decisions.consent_use import bind
from bestnext.decisions.contact_policy import ContactState, load_config
from bestnext.decisions.learning.bank import ModelBank
from bestnext.decisions.model import DecisionContext
from bestnext.decisions.posteriors import PosteriorTable
from bestnext.decisions.profile_view import build_view
from bestnext.settings import DEMO_CONFIG_DIR

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


def _cli(env: dict[str, str], *args: str) -> Any:
    import subprocess
    import sys

    exe = str(Path(sys.executable).parent / "bestnext")
    out = subprocess.run([exe, *args, "--json"], env=env, capture_output=True, text=True, check=True).stdout
    return orjson.loads(out)


def _start(env: dict[str, str], port: int) -> Any:
    import subprocess
    import sys

    exe = str(Path(sys.executable).parent / "bestnext")
    proc = subprocess.Popen([exe, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _person(base: str, write_key: str, db_url: str) -> str:
    from sqlalchemy import select

    from bestnext.db import create_db_engine
    from bestnext.eventlog.tables import events

    ts = "2025-03-01T10:00:00+01:00"
    batch = [{"type": "identify", "messageId": "bench-1", "timestamp": ts, "userId": "B1",
              "traits": {"first_name": "Anna", "age": 34}},
             {"type": "track", "messageId": "bench-2", "timestamp": ts, "userId": "B1",
              "event": "Consent Preferences Updated",
              "properties": {"purposes": {"personal_data": True, "own_marketing": True, "profiling": True}}}]
    httpx.post(f"{base}/v1/batch", json={"batch": batch}, auth=(write_key, ""), timeout=10).raise_for_status()
    engine = create_db_engine(db_url)
    try:
        for _ in range(300):
            with engine.connect() as conn:
                person = conn.execute(select(events.c.person_id).where(events.c.message_id == "bench-2")).scalar()
            if person:
                time.sleep(1.0)  # let the later processors (consent) catch up
                return str(person)
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise RuntimeError("the bench person was never attributed")


def _http_run(base: str, headers: dict[str, str], person: str, seconds: float, connections: int,
              processes: int, workdir: Path) -> dict[str, Any]:
    """``connections`` keep-alive clients in each of ``processes`` client processes (asyncio,
    raw HTTP/1.1: the clients must not be the bottleneck nor share the server's process)."""
    from bestnext.bench.httpload import run_workers

    body = orjson.dumps({"person_id": person, "n": 3})
    found = run_workers(base, "/v1/decisions", body, headers, seconds, connections, processes, workdir)
    samples, took = found["samples"], found["seconds"]
    return {"clients": connections * processes, "client_processes": processes, "seconds": round(took, 1),
            "decisions": len(samples), "errors": found["errors"], "per_second": round(len(samples) / took, 1),
            **(_percentiles(samples) if samples else {})}


def run(workdir: Path) -> dict[str, Any]:
    raw = generated_catalog()
    catalog = parse_catalog(yaml.safe_dump(raw), "generated")
    result: dict[str, Any] = {"in_process": in_process(catalog)}
    db = workdir / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db_url = f"sqlite:///{db}"
    env = {**os.environ, "BESTNEXT_DATABASE_URL": db_url, "BESTNEXT_CONFIG_DIR": str(_config_dir(workdir, raw)),
           "BESTNEXT_LOG_LEVEL": "WARNING", "BESTNEXT_SQLITE_SYNCHRONOUS": "NORMAL"}
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    proc = _start(env, port)
    try:
        base = f"http://127.0.0.1:{port}"
        agent = _cli(env, "keys", "create", "bench", "--role", "agent")["key"]
        write_key = _cli(env, "sources", "create", "bench", "--touchpoint", "web")["write_key"]
        person = _person(base, write_key, db_url)
        headers = {"Authorization": f"Bearer {agent}"}
        _http_run(base, headers, person, 2.0, 4, 1, workdir)  # warm-up
        result["http"] = [_http_run(base, headers, person, 10.0, c, p, workdir) for c, p in ((1, 1), (4, 2), (16, 2))]
    finally:
        proc.terminate()
        proc.wait(15)
    result["goals"] = {"in_process_p99_ms": 1.0, "http_per_second": 2000, "http_p99_ms": 10.0}
    result["load_average"] = os.getloadavg()  # the figures mean little on a busy machine
    return result
