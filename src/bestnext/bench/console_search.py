"""Console search: latency of a typo-tolerant query over a bank's people (pure ranking).

The console ranks in Python over every person's identifiers and name; this measures how long
one query takes as the bank grows, to know when a trigram index in the database is needed.
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path
from typing import Any

from bestnext.console.search import Candidate, rank

FIRST = ["Martina", "Giorgio", "Gaia", "Antonio", "Luca", "Giulia", "Marco", "Sara", "Paolo", "Chiara"]
LAST = ["Bianchi", "Rossi", "Esposito", "Russo", "Ferrari", "Romano", "Colombo", "Ricci", "Marino", "Greco"]


def people(n: int, rng: random.Random) -> list[Candidate]:
    out = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        pid = f"p{i}"
        out += [Candidate(pid, "name", f"{first} {last}"),
                Candidate(pid, "email", f"{first}.{last}{i}@example.org".lower()),
                Candidate(pid, "phone", f"+39347{i:07d}"), Candidate(pid, "user_id", f"C-{100000 + i}")]
    return out


def run(workdir: Path) -> dict[str, Any]:
    rng = random.Random(7)
    queries = ["Martina Bianki", "giorgio.rossi12@example.org", "347 000 0042", "C-100042", "esposito"]
    result: dict[str, Any] = {}
    for n in (1_000, 10_000, 50_000):
        candidates = people(n, rng)
        timings = []
        for q in queries * 3:
            started = time.perf_counter()
            rank(q, candidates)
            timings.append(time.perf_counter() - started)
        result[f"people_{n}"] = {"candidates": len(candidates),
                                 "p50_ms": round(statistics.median(timings) * 1000, 1),
                                 "max_ms": round(max(timings) * 1000, 1)}
    return result
