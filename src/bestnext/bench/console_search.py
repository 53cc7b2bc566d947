"""Console search: latency of a query over a bank's people, through the database's indexes.

For SQLite and PostgreSQL and 1k / 10k / 50k people (each with a name, an email, a phone and
a customer number; 10 first x 10 last names, so a full name is shared by 1% of the bank and a
last name by 10%: the worst case for name search), the console's ``search_people`` runs a mix
of queries (a name with a typo, a name prefix, a last name, an email, a local phone number, a
customer number); wall time per query (p50, p99) and this process's CPU time per query.

Before the indexes (ranking every person in Python): p50 90 ms at 10k people, 415 ms at 50k.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, text

from bestnext.bench.common import on_both, with_engine
from bestnext.console.people import search_people
from bestnext.db import read
from bestnext.identity.tables import identities, persons
from bestnext.profiles import store as profile_store

FIRST = ["Martina", "Giorgio", "Gaia", "Antonio", "Luca", "Giulia", "Marco", "Sara", "Paolo", "Chiara"]
LAST = ["Bianchi", "Rossi", "Esposito", "Russo", "Ferrari", "Romano", "Colombo", "Ricci", "Marino", "Greco"]
SIZES = [int(n) for n in os.environ.get("BESTNEXT_BENCH_SEARCH_SIZES", "1000,10000,50000").split(",")]
REPEAT = int(os.environ.get("BESTNEXT_BENCH_SEARCH_REPEAT", "20"))
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def fill(engine: Engine, start: int, n: int, rng: random.Random) -> None:
    """People ``start``..``start + n`` (ids ``p<i>``) with their identifiers and indexed names."""
    for lo in range(start, start + n, 5000):
        ids = range(lo, min(start + n, lo + 5000))
        names = {f"p{i}": f"{rng.choice(FIRST)} {rng.choice(LAST)}" for i in ids}
        with engine.begin() as conn:
            conn.execute(insert(persons), [{"id": f"p{i}", "created_at": T0, "created_seq": i} for i in ids])
            conn.execute(insert(identities), [
                {"id_type": kind, "value": value, "person_id": f"p{i}", "linked_by": "bench",
                 "linked_seq": i, "first_seen": T0}
                for i in ids for kind, value in _identifiers(i, names[f"p{i}"])])
            profile_store.index_names(conn, names)


def _identifiers(i: int, name: str) -> list[tuple[str, str]]:
    return [("email", f"{name.replace(' ', '.').lower()}{i}@example.org"), ("phone", f"+39347{i:07d}"),
            ("user_id", f"C-{100000 + i}")]


QUERIES = ["Martina Bianki", "giul ferr", "esposito", "{email}", "347 000 0042", "C-100042"]
"""The mix; the identifiers are person 42's (its email depends on its random name)."""


def measure(engine: Engine, n: int) -> dict[str, Any]:
    with read(engine) as conn:
        email = dict(_lookup(conn, "p42"))["email"]
        wall: list[float] = []
        cpu_started = time.process_time()
        found = 0
        for _ in range(REPEAT):
            for q in QUERIES:
                q = q.format(email=email)
                started = time.perf_counter()
                found += len(search_people(conn, q))
                wall.append(time.perf_counter() - started)
        cpu = time.process_time() - cpu_started
    wall.sort()
    return {"people": n, "queries": len(wall), "hits": found,
            "p50_ms": round(1000 * wall[len(wall) // 2], 2),
            "p99_ms": round(1000 * wall[min(len(wall) - 1, int(0.99 * len(wall)))], 2),
            "max_ms": round(1000 * wall[-1], 2),
            "client_cpu_ms_per_query": round(1000 * cpu / len(wall), 2)}


def _lookup(conn: Connection, person_id: str) -> list[tuple[str, str]]:
    rows = conn.execute(select(identities.c.id_type, identities.c.value).where(identities.c.person_id == person_id))
    return [(t, v) for t, v in rows]


def _sizes(engine: Engine) -> dict[str, Any]:
    rng, out, have = random.Random(7), {}, 0
    for n in SIZES:
        fill(engine, have, n - have, rng)
        have = n
        if engine.dialect.name == "postgresql":  # what autovacuum does on its own, a bit later
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        out[f"people_{n}"] = measure(engine, n)
    return out


def run(workdir: Path) -> dict[str, Any]:
    return on_both(workdir / "search.db", lambda url: with_engine(url, _sizes), "bestnext_bench_search")
