"""Learning benchmarks: policy latency, model learning speed, simulator throughput."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from bestnext.decisions.learning import BayesLogit, ModelBank, Scored, ThompsonPolicy
from bestnext.decisions.learning.simulation.agents import Bestnext
from bestnext.decisions.learning.simulation.runner import SimConfig, run_policy
from bestnext.decisions.learning.simulation.world import build_world


def _percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.array(samples) * 1e3
    return {"p50_ms": round(float(np.percentile(ms, 50)), 4), "p99_ms": round(float(np.percentile(ms, 99)), 4)}


def _choose_latency(k: int, rounds: int = 2000) -> dict[str, float]:
    rng = np.random.default_rng(k)
    scored = [Scored(f"a{i}", float(rng.normal(-3, 1)), float(rng.uniform(0.02, 0.5)),
                     float(rng.uniform(0.5, 2.0)), float(rng.random())) for i in range(k)]
    policy = ThompsonPolicy()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        policy.choose(scored, rng)
        samples.append(time.perf_counter() - started)
    return _percentiles(samples)


def _learn_rate(pooled: bool, n: int = 20000) -> float:
    rng = np.random.default_rng(0)
    bank = ModelBank(lambda: BayesLogit(dim=8192), pooled=pooled)
    rows = [({f"age={rng.integers(4)}": 1.0, f"stage={rng.integers(5)}": 1.0, "holds:current_account": 1.0},
             f"offer_{rng.integers(5)}", f"ch{rng.integers(5)}", bool(rng.random() < 0.1)) for _ in range(n)]
    started = time.perf_counter()
    for x, action, channel, y in rows:
        bank.learn(action, channel, x, y)
    return round(n / (time.perf_counter() - started))


def run(workdir: Path) -> dict[str, Any]:
    """Thompson choose() latency (exact propensities) at 25 and 200 candidates, learn() per
    second (per-pair and pooled banks), and simulated bestnext decisions per second."""
    config = SimConfig(persons=2000, days=10, seed=1)
    world = build_world(config.persons, config.seed)
    result = run_policy(world, Bestnext(), config)
    return {
        "choose_25_candidates": _choose_latency(25),
        "choose_200_candidates": _choose_latency(200),
        "learn_per_second": {"per_pair": _learn_rate(False), "pooled": _learn_rate(True)},
        "simulated_decisions_per_second": round(result.decisions / result.seconds),
    }
