"""Use cases of the learning half: run the simulator, evaluate a policy offline."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from bestnext.decisions.learning.logs import (
    TargetPolicy,
    evaluate,
    from_records,
    read_log,
    uniform_policy,
)
from bestnext.decisions.learning.simulation.agents import ARM_INDEX, ARM_KEYS, static_choice
from bestnext.decisions.learning.simulation.runner import POLICY_NAMES, PolicyResult, SimConfig, simulate
from bestnext.errors import InvalidInput


def static_policy(context: dict[str, float], candidates: Sequence[str]) -> dict[str, float]:
    """The simulator's static rules as a target policy (deterministic)."""
    eligible = [False] * len(ARM_KEYS)
    for key in candidates:
        if key not in ARM_INDEX:
            raise InvalidInput(f"the static rules know no action {key!r}")
        eligible[ARM_INDEX[key]] = True
    return {ARM_KEYS[static_choice(context, eligible)]: 1.0}


TARGETS: dict[str, TargetPolicy] = {"uniform": uniform_policy, "static": static_policy}


def target_policy(name: str) -> TargetPolicy:
    if name not in TARGETS:
        raise InvalidInput(f"unknown policy {name!r}; known: {', '.join(sorted(TARGETS))}")
    return TARGETS[name]


def evaluate_file(policy: str, path: Path, seed: int = 0) -> dict[str, Any]:
    """Estimate ``policy``'s mean reward from the logs in ``path`` (IPS, SNIPS, DR)."""
    target = target_policy(policy)
    return {"policy": policy, "logs": path.name, **evaluate(read_log(path), target, seed)}


def _truth_on_logs(result: PolicyResult, target: TargetPolicy) -> float:
    """The target policy's exact expected reward on the logged contexts (the estimand)."""
    total = 0.0
    for record, rates in zip(result.logs, result.truth, strict=True):
        pi = target(record["context"], record["candidates"])
        total += sum(p * rates[a] for a, p in pi.items())
    return total / len(result.logs)


def validate_ope(logged: dict[str, PolicyResult], runs: dict[str, PolicyResult],
                 seed: int) -> list[dict[str, Any]]:
    """Estimate other policies from the logged policies' decisions; compare with the exact
    truth on the logged contexts and with what each policy earned when actually run.

    bestnext logs exact Thompson propensities with a 1% uniform floor, and Vowpal Wabbit its
    epsilon-greedy probabilities: both support every target.
    """
    rows = []
    for logger, target_name, run_name in (("bestnext", "static", "static rules"),
                                          ("vowpal wabbit", "static", "static rules"),
                                          ("vowpal wabbit", "uniform", "random"),
                                          ("bestnext", "uniform", "random")):
        if logger not in logged:
            continue
        result, target = logged[logger], TARGETS[target_name]
        row = {"target": target_name, "logged_by": logger, "truth_on_logged_contexts":
               round(_truth_on_logs(result, target), 6), **evaluate(from_records(result.logs), target, seed)}
        if run_name in runs:
            run = runs[run_name]
            row["its_own_run_rate"] = round(run.conversions / max(run.decisions, 1), 6)
        rows.append(row)
    return rows


def run_simulation(config: SimConfig, policies: Sequence[str] = POLICY_NAMES, ope: bool = False,
                   logs_out: Path | None = None) -> dict[str, Any]:
    """Run the policies side by side; optionally validate OPE on the learners' logs and save
    bestnext's logs (JSON lines, for ``bestnext evaluate``)."""
    unknown = sorted(set(policies) - set(POLICY_NAMES))
    if unknown:
        raise InvalidInput(f"unknown policies {unknown}; known: {', '.join(POLICY_NAMES)}")
    if config.persons < 1 or config.days < 1:
        raise InvalidInput("persons and days must be at least 1")
    keep = [p for p in ("bestnext", "vw") if p in policies and (ope or (logs_out and p == "bestnext"))]
    results = simulate(config, policies, log_policies=keep)
    by_name = {r.name: r for r in results}
    out: dict[str, Any] = {
        "config": {"persons": config.persons, "days": config.days, "seed": config.seed,
                   "visit_rate": config.visit_rate, "budget_per_7_days": config.budget},
        "policies": [r.as_dict(by_name.get("oracle")) for r in results],
    }
    if logs_out is not None and "bestnext" in by_name:
        logs_out.parent.mkdir(parents=True, exist_ok=True)
        logs_out.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in by_name["bestnext"].logs))
        out["logs"] = str(logs_out)
    if ope:
        out["ope"] = validate_ope({n: r for n, r in by_name.items() if r.logs}, by_name, config.seed)
    return out


__all__ = ["evaluate_file", "run_simulation", "static_policy", "target_policy"]
