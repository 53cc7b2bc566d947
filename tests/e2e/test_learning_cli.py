"""`bestnext simulate` and `bestnext evaluate` as a user runs them (real processes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent / "bestnext"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_simulate_then_evaluate_its_logs(tmp_path: Path) -> None:
    logs = tmp_path / "logs.jsonl"
    proc = _run("simulate", "--persons", "400", "--days", "8", "--seed", "2", "--json",
                "--logs-out", str(logs), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    names = [p["policy"] for p in result["policies"]]
    assert names == ["oracle", "random", "static rules", "vowpal wabbit", "bestnext"]
    bestnext = result["policies"][-1]
    lines = logs.read_text().splitlines()
    assert len(lines) == bestnext["decisions"]
    first = json.loads(lines[0])
    assert set(first) == {"context", "candidates", "action", "propensity", "reward"}
    assert 0 < first["propensity"] <= 1 and first["action"] in first["candidates"]

    proc = _run("evaluate", "static", "--logs", str(logs), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    estimate = json.loads(proc.stdout)
    assert estimate["n"] == len(lines) and set(estimate["estimates"]) == {"ips", "snips", "dr"}

    table = _run("evaluate", "uniform", "--logs", str(logs), cwd=tmp_path)
    assert table.returncode == 0 and "SNIPS" in table.stdout and "95% CI" in table.stdout


def test_simulate_prints_one_table(tmp_path: Path) -> None:
    proc = _run("simulate", "--persons", "200", "--days", "3", "--policies", "oracle,random,bestnext",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for word in ("oracle", "random", "bestnext", "regret", "% oracle"):
        assert word in proc.stdout


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    missing = _run("evaluate", "uniform", "--logs", str(tmp_path / "nope.jsonl"), cwd=tmp_path)
    assert missing.returncode == 1 and "no log file" in missing.stderr
    (tmp_path / "bad.jsonl").write_text('{"context": {}}\n')
    bad = _run("evaluate", "uniform", "--logs", str(tmp_path / "bad.jsonl"), cwd=tmp_path)
    assert bad.returncode == 1 and "log record" in bad.stderr
    unknown = _run("evaluate", "genius", "--logs", str(tmp_path / "bad.jsonl"), cwd=tmp_path)
    assert unknown.returncode == 1 and "unknown policy" in unknown.stderr
    policy = _run("simulate", "--persons", "10", "--days", "1", "--policies", "oracle,nope", cwd=tmp_path)
    assert policy.returncode == 1 and "unknown policies" in policy.stderr
