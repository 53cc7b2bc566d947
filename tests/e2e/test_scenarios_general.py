"""Histories the seed does not contain, replayed with the real ``bestnext replay --json``.

Every file in ``tests/scenarios/`` (and the three seed files) must keep the general rules of the
journeys (``tests/support/scenario_rules.py``: quiet hours with Sundays and Italian holidays,
the marketing budget, consents, every own request answered in time, the action fields, texts);
each story (its ``.md`` tells it) also expects the actions a good bank would take.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.support.scenario_rules import general_failures

BIN = Path(sys.executable).parent / "bestnext"
ROOT = Path(__file__).resolve().parents[2]
STORIES = ROOT / "tests" / "scenarios"
SEED = ROOT / "src" / "bestnext" / "demo_bank" / "scenarios"
Acts = list[dict[str, Any]]


@cache
def replay(path: Path) -> tuple[tuple[str, ...], str]:
    proc = subprocess.run([str(BIN), "replay", str(path), "--json"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return tuple(proc.stdout.splitlines()), proc.stderr


def actions(path: Path) -> Acts:
    return [json.loads(line) for line in replay(path)[0] if line.startswith("{")]


def t(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s)


def find(acts: Acts, lo: str, hi: str, **want: Any) -> Acts:
    """Actions between ``lo`` and ``hi`` whose fields have the wanted values (``based_on``: contains)."""
    out = []
    for a in acts:
        if not t(lo) <= t(a["at"]) <= t(hi):
            continue
        if all((v in a["based_on"]) if k == "based_on" else (a[k] in v) if isinstance(v, set) else a[k] == v
               for k, v in want.items()):
            out.append(a)
    return out


def lucia(acts: Acts) -> None:
    # Friday 20:36 -> the call she asked for at Saturday's opening, about the mortgage; one call only
    call = find(acts, "2025-03-08T09:00+01:00", "2025-03-08T10:00+01:00", channel="call_center", purpose="service",
                product="family_mortgage")
    assert call, "no call back on Saturday morning"
    assert len(find(acts, "2025-03-07T20:00+01:00", "2025-03-08T23:59+01:00", channel="call_center")) == 1
    assert not [a for a in acts if a["purpose"] == "marketing" and a["product"] != "family_mortgage"], \
        "marketing for a product she showed no interest in"


def paolo(acts: Acts) -> None:
    # Saturday 21:14, then Sunday and the 2 June holiday: the service call waits for Tuesday's opening
    calls = find(acts, "2025-06-03T09:00+02:00", "2025-06-03T09:30+02:00", channel="call_center", purpose="service",
                 based_on="paolo-05")
    assert calls, "no service call at Tuesday's opening"
    first = min(t(c["at"]) for c in calls)
    assert all(t(a["at"]) >= first for a in acts if a["purpose"] == "marketing"), "sales before service"


def sara(acts: Acts) -> None:
    assert find(acts, "2025-09-16T10:05+02:00", "2025-09-16T11:05+02:00", channel="email", purpose="service")
    after = [a for a in acts if t(a["at"]) >= t("2025-09-17T18:40+02:00")]
    assert all(a["purpose"] == "service" for a in after)
    assert find(after, "2025-09-18T12:15+02:00", "2025-09-18T14:15+02:00", channel="social", based_on="sara-07")
    assert all("sara-07" in a["based_on"] or "sara-04" in a["based_on"] for a in after), "unasked contacts"


def marco(acts: Acts) -> None:
    reply = find(acts, "2025-11-12T23:40+01:00", "2025-11-13T00:10+01:00", channel="social", purpose="service")
    assert reply and "token" in reply[0]["text"].lower(), "no answer about the token on social"
    assert not [a for a in acts if a["purpose"] == "marketing" and "marco-04" in a["based_on"]]


def neri(acts: Acts) -> None:
    opened = t("2025-12-05T10:45+01:00")
    assert not [a for a in acts if a["product"] == "savings_junior" and a["purpose"] == "marketing"
                and t(a["at"]) >= opened], "junior savings offered to a household that just opened it"
    assert find(acts, "2025-12-05T10:45+01:00", "2025-12-06T10:45+01:00", person="C300100", purpose="service",
                based_on="neri-07"), "the opening is not confirmed"


def elena(acts: Acts) -> None:
    assert find(acts, "2025-10-07T11:10+02:00", "2025-10-07T12:10+02:00", channel="call_center", purpose="marketing",
                product="pension_fund")
    assert not find(acts, "2025-10-07T11:40+02:00", "2025-11-06T11:40+02:00", purpose="marketing"), \
        "marketing during the cool-off after her decline"
    assert find(acts, "2025-11-17T10:20+01:00", "2025-11-17T12:00+01:00", purpose="marketing", product="pension_fund")
    assert not find(acts, "2025-11-19T10:30+01:00", "2026-01-01T00:00+01:00", purpose="marketing",
                    product="pension_fund"), "the product she just subscribed is offered again"


def james(acts: Acts) -> None:
    first = find(acts, "2025-03-04T15:21+01:00", "2025-03-04T16:21+01:00", channel="email", purpose="service")
    assert first and first[0]["text"].startswith("Hi James"), first


def giulia(acts: Acts) -> None:
    assert find(acts, "2025-01-21T16:03+01:00", "2025-01-21T17:03+01:00", channel="email", purpose="service",
                based_on="giulia-03")
    assert len(acts) == 1, "no consent: her request is answered, nothing more"


def roberto(acts: Acts) -> None:
    err = replay(STORIES / "roberto_unknown_and_malformed.jsonl")[1]
    assert "line 4" in err and "line 6" in err and "line 3" not in err
    assert find(acts, "2025-04-14T10:05+02:00", "2025-04-14T10:35+02:00", channel="social", purpose="service")
    assert find(acts, "2025-04-14T10:05+02:00", "2025-04-14T12:00+02:00", channel="call_center", purpose="service"), \
        "the problem acknowledged on social is not followed by the promised contact"


def ada(acts: Acts) -> None:
    assert find(acts, "2025-03-22T09:00+01:00", "2025-03-22T09:15+01:00", channel="sms", product="pension_fund")
    assert not [a for a in acts if "2.500" in a["text"] or "2,500" in a["text"]], "an amount that is not hers"
    assert find(acts, "2025-03-22T09:20+01:00", "2025-03-22T13:00+01:00", channel="call_center", purpose="service",
                based_on="ada-04"), "her 'Sì' gets no call the same business day"
    assert not find(acts, "2025-03-22T09:20+01:00", "2025-04-30T00:00+02:00", channel="sms"), "SMS after her reply"


def bianca(acts: Acts) -> None:
    ack = find(acts, "2025-10-18T15:02+02:00", "2025-10-18T15:30+02:00", channel="email", purpose="service",
               based_on="bianca-03")
    assert ack and "20/10" in ack[0]["text"], "the complaint is not acknowledged with the moment of the call"
    assert find(acts, "2025-10-20T09:00+02:00", "2025-10-20T09:30+02:00", channel="call_center", purpose="service")
    assert not [a for a in acts if a["purpose"] == "marketing"], "marketing during the complaint's cool-off"


def strangers(acts: Acts) -> None:
    assert not [a for a in acts if a["person"] == "+393330000001"], "Aldo asked not to be contacted"
    bea = [a for a in acts if a["person"] == "bea@example.org"]
    assert [(a["channel"], a["purpose"]) for a in bea] == [("email", "service")], "Bea has no phone; no follow-ups"
    anonymous = find(acts, "2025-10-15T12:00+02:00", "2025-10-15T12:30+02:00", person="fb-777", channel="social")
    assert anonymous and anonymous[0]["text"].startswith("Ciao,"), anonymous
    assert not find(acts, "2025-10-15T13:30+02:00", "2025-12-31T00:00+01:00", person="+393330000004"), "after STOP"


def nora(acts: Acts) -> None:
    ack = find(acts, "2025-10-15T22:10+02:00", "2025-10-15T22:40+02:00", channel="social", purpose="service")
    assert ack and ack[0]["text"].startswith("Hi Nora") and "tomorrow at 09:00" in ack[0]["text"], ack
    call = find(acts, "2025-10-16T09:00+02:00", "2025-10-16T09:30+02:00", channel="call_center", purpose="service",
                based_on="nora-05")
    assert call and call[0]["text"].startswith("Hi Nora"), call
    assert not [a for a in acts if a["purpose"] == "marketing"], "an offer from behaviour she did not let us profile"


def ivo(acts: Acts) -> None:
    assert find(acts, "2025-04-17T10:05+02:00", "2025-04-17T11:05+02:00", channel="email", purpose="service")
    assert find(acts, "2025-04-19T09:00+02:00", "2025-04-19T13:00+02:00", channel="call_center", purpose="marketing")
    calls = [a for a in acts if a["purpose"] == "marketing" and a["channel"] == "call_center"]
    for a in calls:
        again = [b for b in calls if b is not a and b["product"] == a["product"]
                 and dt.timedelta(0) < t(b["at"]) - t(a["at"]) < dt.timedelta(days=7)]
        assert not again, f"{a['product']} pushed twice within a week"


STORY: dict[str, Callable[[Acts], None]] = {
    "lucia_mortgage_callback": lucia, "paolo_transfer_failed_holiday": paolo, "sara_consent_withdrawn": sara,
    "marco_token_night": marco, "neri_savings_junior_branch": neri, "elena_decline_then_convert": elena,
    "james_english_lead": james, "giulia_no_consent": giulia, "roberto_unknown_and_malformed": roberto,
    "ada_sms_reply_yes": ada, "bianca_complaint_saturday": bianca, "strangers_edge_cases": strangers,
    "nora_no_profiling_token": nora, "ivo_browses_every_evening": ivo,
}
FILES = sorted(STORIES.glob("*.jsonl")) + sorted(SEED.glob("*.jsonl"))


def test_every_story_has_its_prose_and_its_expectations() -> None:
    names = {p.stem for p in STORIES.glob("*.jsonl")}
    assert names == set(STORY) and len(names) >= 6
    assert all((STORIES / f"{n}.md").exists() for n in names)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_general_rules_hold(path: Path) -> None:
    assert general_failures(path, actions(path)) == []


@pytest.mark.parametrize("name", sorted(STORY))
def test_story_expectations(name: str) -> None:
    STORY[name](actions(STORIES / f"{name}.jsonl"))


@pytest.mark.parametrize("name", ["ada_sms_reply_yes", "bianca_complaint_saturday", "paolo_transfer_failed_holiday"])
def test_the_same_actions_on_both_databases(name: str, db_url: str) -> None:
    from bestnext.replay.service import replay_text

    path = STORIES / f"{name}.jsonl"
    got = replay_text(path.read_text(encoding="utf-8"), database_url=db_url).actions
    assert json.loads(json.dumps(got)) == actions(path)
