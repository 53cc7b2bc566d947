"""The demo bank's general rules, replayed on synthetic histories (not the seed scenarios)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bestnext.replay.service import replay_text

YES = {"personal_data": True, "own_marketing": True, "profiling": True}
NO_MARKETING = {"personal_data": True, "own_marketing": False, "profiling": False}


class History:
    """A person's history as Segment messages, written in tests."""

    def __init__(self, key: str, phone: str = "+393330000001") -> None:
        self.key, self.phone, self.lines, self.n = key, phone, [], 0

    def add(self, at: str, kind: str = "track", **fields: Any) -> History:
        self.n += 1
        msg: dict[str, Any] = {"type": kind, "messageId": f"{self.key}-{self.n}", "timestamp": at,
                               "anonymousId": f"dev-{self.key}",
                               "context": {"touchpoint": fields.pop("touchpoint", "web"),
                                           "traits": {"phone": self.phone}}}
        msg.update(fields)
        self.lines.append(msg)
        return self

    def lead(self, at: str, consents: dict[str, bool], channel: str = "sms",
             product: str = "pension_fund") -> History:
        self.add(at, "identify", traits={"first_name": "Ada", "age": 40, "phone": self.phone,
                                         "email": f"{self.key}@example.org"}, touchpoint="partner")
        self.add(at, event="Consent Preferences Updated", properties={"purposes": consents}, touchpoint="partner")
        return self.add(at, event="Lead Received", touchpoint="partner",
                        properties={"product": product, "preferred_channel": channel, "contact_requested": True})

    def page(self, at: str, path: str) -> History:
        return self.add(at, "page", name="page", properties={"path": path})

    def text(self) -> str:
        return "\n".join(json.dumps(m) for m in self.lines) + "\n"


def _replay(h: History, until: str | None = None) -> list[dict[str, Any]]:
    result = replay_text(h.text(), datetime.fromisoformat(until) if until else None)
    assert not result.errors
    return result.actions


def _at(a: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(a["at"])


def _quiet_ok(actions: list[dict[str, Any]]) -> None:
    for a in actions:
        if a["channel"] in ("sms", "call_center"):
            assert 9 <= _at(a).hour < 20 and _at(a).weekday() != 6, a


def _budget_ok(actions: list[dict[str, Any]]) -> None:
    times = sorted(_at(a) for a in actions if a["purpose"] == "marketing")
    for i, t in enumerate(times):
        assert len([x for x in times[i:] if x - t < timedelta(days=7)]) <= 3, times


def test_refused_marketing_consent_gives_service_only() -> None:
    h = History("nomkt").lead("2025-03-03T10:00:00+01:00", NO_MARKETING)
    h.page("2025-03-05T11:00:00+01:00", "/previdenza/fondo-pensione")
    h.page("2025-03-05T11:02:00+01:00", "/previdenza/simulatore")
    actions = _replay(h)
    assert actions and all(a["purpose"] == "service" for a in actions)
    _quiet_ok(actions)


def test_positive_sms_reply_gets_a_call_the_same_business_day() -> None:
    h = History("reply").lead("2025-03-03T10:00:00+01:00", YES)
    h.add("2025-03-03T15:10:00+01:00", event="SMS Replied", touchpoint="sms",
          properties={"intent": "positive", "text": "SI"})
    actions = _replay(h)
    calls = [a for a in actions if a["channel"] == "call_center"]
    assert calls, actions
    assert datetime.fromisoformat("2025-03-03T15:10:00+01:00") <= _at(calls[0]) \
        <= datetime.fromisoformat("2025-03-03T20:00:00+01:00")
    assert len([a for a in actions if a["channel"] == "sms"]) == 1  # answered: no follow-up SMS


def test_no_reply_means_at_most_three_attempts_within_seven_days() -> None:
    actions = _replay(History("silent").lead("2025-03-03T10:00:00+01:00", YES))
    attempts = [a for a in actions if a["action"] == "lead_first_contact"]
    assert 2 <= len(attempts) <= 3
    assert _at(attempts[-1]) - _at(attempts[0]) <= timedelta(days=7)
    gaps = [_at(b) - _at(a) for a, b in zip(attempts, attempts[1:], strict=False)]
    assert all(g >= timedelta(days=2) for g in gaps), gaps  # each waits 2 days from the last contact
    _quiet_ok(actions)


def test_interest_on_a_sunday_books_the_call_on_monday_and_announces_it_by_email() -> None:
    h = History("sunday").lead("2025-03-03T10:00:00+01:00", YES, channel="email")
    h.page("2025-03-16T11:00:00+01:00", "/previdenza/fondo-pensione")  # a Sunday
    h.page("2025-03-16T11:01:00+01:00", "/previdenza/simulatore")
    actions = [a for a in _replay(h) if a["journey"] == "product_interest"]
    calls = [a for a in actions if a["channel"] == "call_center"]
    emails = [a for a in actions if a["channel"] == "email"]
    assert calls and _at(calls[0]).isoformat() == "2025-03-17T09:00:00+01:00"
    assert emails and _at(emails[0]).date().isoformat() == "2025-03-16"
    assert len(calls) == 1, "one browsing session gives one action (debounced)"
    _quiet_ok(actions)


def test_marketing_budget_is_never_exceeded() -> None:
    h = History("busy").lead("2025-03-03T10:00:00+01:00", YES, channel="email")
    start = datetime.fromisoformat("2025-03-04T10:00:00+01:00")
    for day in range(10):
        for path in ("/previdenza/fondo-pensione", "/carte/prepagata", "/conti"):
            h.page((start + timedelta(days=day, minutes=30 * len(path) % 7)).isoformat(), path)
    actions = _replay(h)
    assert [a for a in actions if a["purpose"] == "marketing"]
    _budget_ok(actions)
    _quiet_ok(actions)


def test_product_question_is_answered_by_the_call_already_booked() -> None:
    h = History("ask").lead("2025-03-03T10:00:00+01:00", YES, channel="email", product="prepaid_card")
    h.add("2025-03-11T21:00:00+01:00", event="Competitor Site Visited", touchpoint="third_party",
          properties={"competitor": "ALFA", "category": "prepaid_card"})
    h.add("2025-03-11T21:30:00+01:00", event="Social Message Posted", touchpoint="social",
          properties={"text": "How much does your prepaid card cost?"})
    actions = _replay(h, "2025-03-13T00:00:00+01:00")
    assert not [a for a in actions if a["channel"] == "social"], "no second, unrelated contact"
    (call,) = [a for a in actions if a["channel"] == "call_center" and a["journey"] == "product_interest"]
    assert call["at"] == "2025-03-12T09:00:00+01:00" and call["product"] == "prepaid_card"
    assert "ask-5" in call["based_on"]  # the question (ask-5) rides on the booked call


def test_problem_question_is_acknowledged_at_once_on_its_channel() -> None:
    h = History("token").add("2025-06-23T21:00:00+02:00", "identify", userId="C9",
                             traits={"first_name": "Eva", "age": 40, "email": "eva@example.org"})
    h.add("2025-06-23T21:29:00+02:00", event="Transfer Failed", userId="C9",
          properties={"reason": "security_token_error"}, touchpoint="ebanking")
    h.add("2025-06-23T21:38:00+02:00", event="Social Message Posted", userId="C9", touchpoint="social",
          properties={"text": "my token seems dead, what do I do?"})
    actions = _replay(h, "2025-06-25T00:00:00+02:00")
    social = [a for a in actions if a["channel"] == "social"]
    assert social and social[0]["at"] == "2025-06-23T21:38:00+02:00" and social[0]["purpose"] == "service"
    calls = [a for a in actions if a["channel"] == "call_center" and a["purpose"] == "service"]
    assert calls and calls[0]["at"] == "2025-06-24T09:00:00+02:00"
    assert not [a for a in actions if a["purpose"] == "marketing" and _at(a) < _at(calls[0])]


def test_segment_entry_and_profile_change_triggers(tmp_path: Path) -> None:
    import shutil

    from bestnext.settings import DEMO_CONFIG_DIR

    config = tmp_path / "bank"
    shutil.copytree(DEMO_CONFIG_DIR, config)
    (config / "journeys" / "welcome.yaml").write_text(
        "id: welcome\nentry:\n  - type: identify\n    when: [{field: event.name, op: '==', value: identify}]\n"
        "    segment: [{field: profile.lifecycle_stage, op: '==', value: customer}]\n"
        "reentry: {mode: never}\nsteps:\n  - id: hello\n    do: send\n    channel: email\n"
        "    purpose: service\n    action: confirm_subscription\n    at: now\n    text: {it: 'Benvenuto {first_name}'}\n")
    h = History("seg").add("2025-03-03T10:00:00+01:00", "identify", userId="C1",
                           traits={"first_name": "Ugo", "email": "ugo@example.org"})
    h.add("2025-03-04T10:00:00+01:00", event="Account Opened", userId="C1",
          properties={"product": "current_account"}, touchpoint="branch")
    h.add("2025-03-05T10:00:00+01:00", "identify", userId="C1", traits={"city": "Milano"})
    h.add("2025-03-06T10:00:00+01:00", "identify", userId="C1", traits={"city": "Roma"})
    result = replay_text(h.text(), datetime.fromisoformat("2025-03-07T00:00:00+01:00"), config_dir=config)
    welcome = [a for a in result.actions if a["journey"] == "welcome"]
    assert [a["at"] for a in welcome] == ["2025-03-05T10:00:00+01:00"]  # not before, and once
    assert welcome[0]["text"] == "Benvenuto Ugo"


def test_stop_reply_ends_follow_ups_and_other_reply_is_answered() -> None:
    stop = History("stop").lead("2025-03-03T10:00:00+01:00", YES)
    stop.add("2025-03-03T11:00:00+01:00", event="SMS Replied", touchpoint="sms",
             properties={"intent": "stop", "text": "STOP"})
    assert len([a for a in _replay(stop) if a["action"] == "lead_first_contact"]) == 1
    other = History("other").lead("2025-03-03T10:00:00+01:00", YES)
    other.add("2025-03-03T11:00:00+01:00", event="SMS Replied", touchpoint="sms",
              properties={"intent": "other", "text": "Quanto costa?"})
    actions = _replay(other)
    assert len([a for a in actions if a["action"] == "lead_first_contact"]) == 1
    answers = [a for a in actions if a["action"] == "answer_request"]
    assert answers and answers[0]["channel"] == "sms" and answers[0]["purpose"] == "service"
    assert _at(answers[0]) <= datetime.fromisoformat("2025-03-03T12:00:00+01:00")


def test_lead_without_a_chosen_channel_is_contacted_where_reachable() -> None:
    h = History("nochannel")
    h.add("2025-03-03T10:00:00+01:00", "identify", traits={"first_name": "Lia", "email": "lia@example.org"},
          touchpoint="partner")
    h.add("2025-03-03T10:00:01+01:00", event="Lead Received", touchpoint="partner",
          properties={"product": "pension_fund"})
    first = [a for a in _replay(h) if a["action"] == "lead_first_contact"][0]
    assert first["channel"] == "email" and first["at"] == "2025-03-03T10:00:01+01:00"


def test_call_back_request_is_a_call_within_one_business_hour() -> None:
    h = History("cb").add("2025-03-07T19:45:00+01:00", "identify", userId="C3",
                          traits={"first_name": "Rita", "phone": "+393330000003"})
    h.add("2025-03-07T19:50:00+01:00", event="Call Back Requested", userId="C3", touchpoint="web")
    calls = [a for a in _replay(h) if a["channel"] == "call_center"]
    assert calls and calls[0]["purpose"] == "service" and calls[0]["at"] == "2025-03-07T19:50:00+01:00"


def test_saturday_afternoon_interest_books_the_call_when_the_call_center_opens() -> None:
    # the contact policy allows calls until 20:00 on Saturdays; the call center closes at 13:00
    h = History("sat").lead("2025-03-03T10:00:00+01:00", YES, channel="email")
    h.page("2025-03-15T15:00:00+01:00", "/previdenza/fondo-pensione")
    calls = [a for a in _replay(h) if a["channel"] == "call_center" and a["journey"] == "product_interest"]
    assert calls and calls[0]["at"] == "2025-03-17T09:00:00+01:00"


def test_holiday_interest_of_a_lead_without_email_books_the_next_working_day_call_only() -> None:
    h = History("hol")
    h.add("2018-04-18T23:05:00+02:00", "identify", traits={"first_name": "Ciro", "age": 40, "phone": "+393330000004"},
          touchpoint="partner")
    h.add("2018-04-18T23:05:00+02:00", event="Consent Preferences Updated", touchpoint="partner",
          properties={"purposes": YES})
    h.add("2018-04-18T23:05:01+02:00", event="Lead Received", touchpoint="partner",
          properties={"product": "pension_fund", "preferred_channel": "sms"})
    h.page("2018-04-25T11:00:00+02:00", "/previdenza/fondo-pensione")  # Liberation Day
    actions = _replay(h)
    interest = [a for a in actions if a["journey"] == "product_interest"]
    assert [a["channel"] for a in interest if a["channel"] != "branch"] == ["call_center"]
    assert interest[0]["at"] == "2018-04-26T09:00:00+02:00"
    call = next(a for a in interest if a["channel"] == "call_center")
    assert call["offer"] == "branch_visit_gift"
    briefings = [a for a in interest if a["channel"] == "branch"]
    assert briefings and briefings[0]["at"] == call["at"], "the branch is briefed for the booked call"
    _quiet_ok(actions)
    _budget_ok(actions)
