"""The journeys, replay and demo commands, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.server import run_cli

BIN = Path(sys.executable).parent / "bestnext"
LEAD = [
    {"type": "identify", "messageId": "a1", "timestamp": "2025-03-07T21:30:00+01:00", "anonymousId": "p1",
     "traits": {"first_name": "Ada", "age": 40, "phone": "+393330000002"}, "context": {"touchpoint": "partner"}},
    {"type": "track", "messageId": "a2", "timestamp": "2025-03-07T21:30:01+01:00", "anonymousId": "p1",
     "event": "Lead Received", "properties": {"product": "pension_fund", "preferred_channel": "sms"},
     "context": {"touchpoint": "partner"}},
]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=300)


def test_replay_json_reports_a_malformed_line_and_replays_the_rest(tmp_path: Path) -> None:
    history = tmp_path / "h.jsonl"
    history.write_text(json.dumps(LEAD[0]) + "\n{broken\n" + json.dumps(LEAD[1]) + "\n")
    proc = _run("replay", str(history), "--json", "--until", "2025-03-09T00:00:00+01:00")
    assert proc.returncode == 0, proc.stderr
    assert "line 2" in proc.stderr
    actions = [json.loads(line) for line in proc.stdout.splitlines()]
    # Friday 21:30 -> the SMS waits for Saturday 09:00 (quiet hours)
    assert [(a["at"], a["channel"], a["action"]) for a in actions] == [
        ("2025-03-08T09:00:00+01:00", "sms", "lead_first_contact")]
    assert actions[0]["person"] == "+393330000002" and actions[0]["based_on"] == ["a2"]


def test_replay_table_and_missing_file(tmp_path: Path) -> None:
    history = tmp_path / "h.jsonl"
    history.write_text("\n".join(json.dumps(m) for m in LEAD) + "\n")
    table = _run("replay", str(history), "--until", "2025-03-09T00:00:00+01:00")
    assert table.returncode == 0 and "lead_first_contact" in table.stdout
    missing = _run("replay", str(tmp_path / "nope.jsonl"))
    assert missing.returncode != 0 and "no such file" in missing.stderr


def test_journeys_check_names_line_and_field(tmp_path: Path) -> None:
    deep = tmp_path / ("a-long-folder-name-" * 6)  # the error line is wider than a terminal
    deep.mkdir()
    bad = deep / "bad.yaml"
    bad.write_text("id: j\nentry: [{event: X}]\nsteps:\n  - id: a\n    do: wait\n    for: soon\n")
    proc = _run("journeys", "check", str(bad))
    assert proc.returncode == 1
    assert f"{bad}:6: steps.0.wait.for:" in proc.stderr  # one line, as editors and CI parse it
    good = Path(__file__).resolve().parents[2] / "src" / "bestnext" / "demo_bank" / "journeys" / "lead.yaml"
    assert _run("journeys", "check", str(good)).returncode == 0


def test_demo_load_is_repeatable(db_url: str) -> None:
    first = run_cli(db_url, "demo", "load")
    assert "admin API key" in first and "write key" in first
    second = run_cli(db_url, "demo", "load")
    assert "admin API key" in second


def test_journeys_show_after_demo_seed_replay(db_url: str) -> None:
    from bestnext.bootstrap import build
    from bestnext.demo.service import replay_seeds
    from bestnext.settings import Settings

    run_cli(db_url, "demo", "load")
    c = build(Settings(database_url=db_url, environment="test"))
    try:
        assert replay_seeds(c) > 0
    finally:
        c.dispose()
    shown = json.loads(run_cli(db_url, "journeys", "show", "user_id:C100234"))
    assert {"answer_request", "failed_operation"} <= {i["journey"] for i in shown}
    import os

    missing = subprocess.run([str(BIN), "journeys", "show", "email:nobody@example.org"], capture_output=True,
                             text=True, timeout=120, env={**os.environ, "BESTNEXT_DATABASE_URL": db_url})
    assert missing.returncode == 1 and "nobody known" in missing.stderr
