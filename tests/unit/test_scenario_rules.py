"""The scenario rule checker catches what it must (so a green scenario test means something)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from tests.support.scenario_rules import business_deadline, closed_day, general_failures

CONSENT = {"type": "track", "messageId": "c1", "timestamp": "2025-05-30T10:00:00+02:00", "userId": "U1",
           "event": "Consent Preferences Updated", "properties": {"purposes": {"personal_data": True, "own_marketing": True,
                                                                               "profiling": False}}}
FAILED = {"type": "track", "messageId": "f1", "timestamp": "2025-05-31T21:14:00+02:00", "userId": "U1",
          "event": "Transfer Failed", "properties": {"reason": "x"}, "traits": {"first_name": "Ugo"}}
QUESTION = {"type": "track", "messageId": "q1", "timestamp": "2025-05-31T21:20:00+02:00", "userId": "U1",
            "event": "Social Message Posted", "properties": {"text": "help"}}
OTHER = {"type": "identify", "messageId": "o1", "timestamp": "2025-05-30T09:00:00+02:00", "userId": "U2",
         "traits": {"first_name": "Zelda", "email": "zelda@example.org"}}
PAGE = {"type": "page", "messageId": "p1", "timestamp": "2025-05-31T21:00:00+02:00", "userId": "U1",
        "properties": {"path": "/mutui"}}


def act(at: str, **kw: Any) -> dict[str, Any]:
    base = {"at": at, "person": "U1", "channel": "social", "purpose": "service", "action": "answer_request",
            "product": None, "offer": None, "journey": "j", "based_on": ["q1"], "assignee": None, "text": "Ciao Ugo."}
    return base | kw


def failures(tmp_path: Path, acts: list[dict[str, Any]], *messages: dict[str, Any]) -> list[str]:
    path = tmp_path / "h.jsonl"
    path.write_text("\n".join(json.dumps(m) for m in (CONSENT, OTHER, FAILED, QUESTION, PAGE, *messages)) + "\n")
    return general_failures(path, acts)


def test_a_good_history_passes(tmp_path: Path) -> None:
    call = act("2025-06-03T09:00:00+02:00", channel="call_center", assignee="call_center", based_on=["f1"])
    assert failures(tmp_path, [act("2025-05-31T21:21:00+02:00"), call]) == []


def test_each_rule_catches_its_breach(tmp_path: Path) -> None:
    reply = act("2025-05-31T21:21:00+02:00")
    cases = {
        "quiet hours": act("2025-06-02T10:00:00+02:00", channel="sms"),  # 2 June: a holiday
        "marketing contacts in 7 days": act("2025-06-04T10:00:00+02:00", purpose="marketing", channel="email"),
        "without profiling": act("2025-06-04T10:00:00+02:00", purpose="marketing", channel="email", based_on=["p1"]),
        "another person's data": act("2025-06-04T10:00:00+02:00", text="Ciao Ugo, Zelda says hi"),
        "Italian text": None,
        "promises a call": act("2025-05-31T21:22:00+02:00", text="Ciao Ugo, ti chiamiamo domani."),
        "sold while f1": act("2025-06-01T10:00:00+02:00", purpose="marketing", channel="email"),
        "'offer' is null": act("2025-06-04T10:00:00+02:00", text="Ciao Ugo, il primo anno è gratis."),
        "based_on": act("2025-06-04T10:00:00+02:00", based_on=["nope"]),
        "assignee": act("2025-06-04T10:00:00+02:00", channel="call_center"),
    }
    for needle, bad in cases.items():
        if bad is None:
            continue
        extra = [act(f"2025-06-0{d}T11:00:00+02:00", purpose="marketing", channel="email") for d in (4, 5, 6)] \
            if needle == "marketing contacts in 7 days" else []
        found = failures(tmp_path, [reply, bad, *extra])
        assert any(needle in f for f in found), (needle, found)
    english = {**OTHER, "messageId": "e1", "userId": "U1", "context": {"locale": "en-GB"}, "traits": {}}
    assert any("Italian text" in f for f in failures(tmp_path, [reply], english))
    unanswered = failures(tmp_path, [])
    assert any("q1 (Social Message Posted) not answered" in f for f in unanswered)
    no_consent = {**CONSENT, "messageId": "c2", "timestamp": "2025-05-31T00:00:00+02:00",
                  "properties": {"purposes": {"own_marketing": False}}}
    assert any("without own_marketing" in f for f in failures(
        tmp_path, [reply, act("2025-06-04T10:00:00+02:00", purpose="marketing", channel="email")], no_consent))


def test_business_time_skips_nights_sundays_and_holidays() -> None:
    rome = dt.timezone(dt.timedelta(hours=2))
    saturday_night = dt.datetime(2025, 5, 31, 21, 20, tzinfo=rome)
    assert closed_day(dt.date(2025, 6, 2)) and closed_day(dt.date(2025, 6, 1)) and not closed_day(dt.date(2025, 6, 3))
    assert business_deadline(saturday_night, 2) == dt.datetime(2025, 6, 3, 11, 0, tzinfo=rome)
    assert business_deadline(dt.datetime(2025, 6, 7, 12, 0, tzinfo=rome), 2) == dt.datetime(2025, 6, 9, 10, 0, tzinfo=rome)
