"""Replay: the seed acceptance check, malformed lines, and general rules on synthetic histories."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest

from bestnext.journeys.config import check_text, load_journeys
from bestnext.replay.service import replay_text
from bestnext.settings import DEMO_CONFIG_DIR

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT.parent / "shared" / "scenarios" / "check_replay.py"


def _lead(at: str, channel: str = "sms", n: str = "x") -> list[dict[str, object]]:
    ident = {"type": "identify", "messageId": f"{n}-1", "timestamp": at, "anonymousId": f"p-{n}",
             "traits": {"first_name": "Ada", "phone": "+393330000001", "email": f"{n}@example.org"},
             "context": {"touchpoint": "partner"}}
    consent = {"type": "track", "messageId": f"{n}-2", "timestamp": at, "anonymousId": f"p-{n}",
               "event": "Consent Preferences Updated",
               "properties": {"purposes": {"personal_data": True, "own_marketing": True, "profiling": True}},
               "context": {"touchpoint": "partner"}}
    lead = {"type": "track", "messageId": f"{n}-3", "timestamp": at, "anonymousId": f"p-{n}",
            "event": "Lead Received", "properties": {"product": "pension_fund", "preferred_channel": channel},
            "context": {"touchpoint": "partner"}}
    return [ident, consent, lead]


def _text(messages: list[dict[str, object]]) -> str:
    return "\n".join(json.dumps(m) for m in messages) + "\n"


def test_demo_journeys_are_valid() -> None:
    for path in (DEMO_CONFIG_DIR / "journeys").glob("*.yaml"):
        assert check_text(path.read_text(), path.name) == []
    assert {j.id for j in load_journeys(DEMO_CONFIG_DIR)} >= {"lead", "answer_request", "failed_operation",
                                                             "product_interest"}


def test_check_reports_line_and_field() -> None:
    errors = check_text("id: j\nentry: [{event: X}]\nsteps:\n  - id: a\n    do: wait_event\n    event: Y\n")
    assert errors and all(e["line"] in (4, 5) for e in errors)
    assert any("timeout" in e["field"] for e in errors)


def test_sms_lead_at_night_before_a_sunday_and_holiday_waits_for_a_working_day() -> None:
    # Saturday 19 April 2025, 22:00: Sunday is Easter, Monday a public holiday.
    result = replay_text(_text(_lead("2025-04-19T22:00:00+02:00")), datetime.fromisoformat("2025-04-23T00:00:00+02:00"))
    sms = [a for a in result.actions if a["channel"] == "sms"]
    assert sms, result.actions
    first = datetime.fromisoformat(sms[0]["at"])
    assert first.isoformat() == "2025-04-22T09:00:00+02:00"
    assert sms[0]["action"] == "lead_first_contact" and sms[0]["person"] == "x@example.org"


def test_unanswered_lead_gets_at_most_three_attempts_and_malformed_line_is_reported() -> None:
    text = _text(_lead("2025-03-03T10:00:00+01:00", n="y")) + "{not json\n"
    result = replay_text(text)
    attempts = [a for a in result.actions if a["action"] == "lead_first_contact"]
    assert 1 < len(attempts) <= 3
    assert result.errors and result.errors[0][0] == 4
    for a in attempts:
        local = datetime.fromisoformat(a["at"])
        assert 9 <= local.hour < 20 and local.weekday() != 6


@pytest.mark.skipif(not CHECK.exists(), reason="../shared/scenarios not present")
def test_seed_acceptance_check() -> None:
    proc = subprocess.run([sys.executable, str(CHECK), str(Path(sys.executable).parent / "bestnext")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.mark.skipif(not CHECK.exists(), reason="../shared/scenarios not present")
@pytest.mark.parametrize(("name", "refused"), [("martina", "profiling"), ("antonio", "own_marketing"),
                                               ("rossi", "own_marketing")])
def test_seed_with_a_consent_refused_gets_no_marketing(name: str, refused: str) -> None:
    lines = []
    for raw in (CHECK.parent / f"{name}.jsonl").read_text().splitlines():
        message = json.loads(raw)
        if message.get("event") == "Consent Preferences Updated":
            message["properties"]["purposes"][refused] = False
            message["context"]["consent"]["categoryPreferences"][refused] = False
        lines.append(json.dumps(message))
    actions = replay_text("\n".join(lines) + "\n").actions
    assert actions and not [a for a in actions if a["purpose"] == "marketing"]


@cache
def _rossi_on_a_temp_database() -> list[tuple[str, ...]]:
    """The reference: replayed once for both parameters (a replay is deterministic)."""
    actions = replay_text((CHECK.parent / "rossi.jsonl").read_text()).actions
    return sorted((a["at"], a["channel"], a["purpose"], a["action"], a["product"] or "") for a in actions)


@pytest.mark.skipif(not CHECK.exists(), reason="../shared/scenarios not present")
def test_the_same_replay_on_both_databases(db_url: str) -> None:
    """The engine is the same on PostgreSQL: the Rossi history gives the same actions."""
    text = (CHECK.parent / "rossi.jsonl").read_text()
    got = replay_text(text, database_url=db_url).actions
    key = sorted((a["at"], a["channel"], a["purpose"], a["action"], a["product"] or "") for a in got)
    assert key == _rossi_on_a_temp_database()
    assert ("2025-06-23T21:38:00+02:00", "social", "service", "answer_request", "security_token") in key
    assert ("2025-06-24T09:00:00+02:00", "call_center", "service", "recontact_failed_operation", "") in key
