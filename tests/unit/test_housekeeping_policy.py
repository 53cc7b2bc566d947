"""The ``housekeeping:`` section of retention.yaml: defaults, the bank's ages, ``keep``, and
errors that name the field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bestnext.errors import ConfigInvalid
from bestnext.privacy import housekeeping, retention
from bestnext.privacy.housekeeping import DEFAULTS, Age, load_policy, parse_policy
from bestnext.settings import DEMO_CONFIG_DIR


def test_without_the_section_every_kind_has_its_default() -> None:
    assert parse_policy({"events": {"page": "13 months"}}) == DEFAULTS
    assert parse_policy({"events": {}, "housekeeping": {}}) == DEFAULTS
    assert DEFAULTS["fired_timers"] == Age(30, "day") and DEFAULTS["sent_messages"] == Age(13, "month")
    assert all(age is not None and age.amount >= 1 for age in DEFAULTS.values()), "every kind is purged"


def test_the_bank_s_ages_replace_the_defaults_of_the_kinds_it_names() -> None:
    policy = parse_policy({"housekeeping": {"fired_timers": "7 days", "sent_messages": "5 years",
                                            "ended_sessions": "Keep"}})
    assert policy["fired_timers"] == Age(7, "day") and policy["sent_messages"] == Age(5, "year")
    assert policy["ended_sessions"] is None
    assert policy["failed_timers"] == DEFAULTS["failed_timers"]


@pytest.mark.parametrize(("section", "names"), [
    ({"fired_timer": "30 days"}, "housekeeping.fired_timer"),
    ({"fired_timers": "soon"}, "housekeeping.fired_timers"),
    ({"sent_messages": "0 days"}, "housekeeping.sent_messages"),
    ({"dead_messages": 30}, "housekeeping.dead_messages"),
    ({"cancelled_timers": None}, "housekeeping.cancelled_timers"),
    (["fired_timers"], "'housekeeping'"),
    ("30 days", "'housekeeping'"),
])
def test_a_wrong_section_is_refused_naming_the_field(section: object, names: str) -> None:
    with pytest.raises(ConfigInvalid, match=names.replace(".", r"\.")):
        parse_policy({"events": {}, "housekeeping": section})


def test_a_file_with_only_housekeeping_has_no_event_rules(tmp_path: Path) -> None:
    (tmp_path / "retention.yaml").write_text("housekeeping:\n  fired_timers: 2 weeks\n", encoding="utf-8")
    assert retention.load_rules(tmp_path) == []
    assert load_policy(tmp_path)["fired_timers"] == Age(2, "week")
    assert load_policy(tmp_path / "no-such-bank") == DEFAULTS
    with pytest.raises(ConfigInvalid):
        retention.parse_rules({"housekeeping_typo": {}})


def test_the_demo_bank_states_its_housekeeping() -> None:
    policy = load_policy(DEMO_CONFIG_DIR)
    assert set(policy) == {k.name for k in housekeeping.KINDS}
    assert retention.load_rules(DEMO_CONFIG_DIR), "the event rules are still there"


def test_ages_count_back_by_the_calendar() -> None:
    now = datetime(2026, 3, 31, 3, tzinfo=UTC)
    assert Age(30, "day").cutoff(now) == datetime(2026, 3, 1, 3, tzinfo=UTC)
    assert Age(1, "month").cutoff(now) == datetime(2026, 2, 28, 3, tzinfo=UTC)
    assert Age(13, "month").cutoff(now) == datetime(2025, 2, 28, 3, tzinfo=UTC)
