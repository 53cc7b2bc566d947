"""The contact policy (pure core): quiet hours, holidays, Sundays, budget, cool-offs, cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bestnext.calendar import BusinessCalendar
from bestnext.clock import ROME
from bestnext.decisions.contact_policy import (
    Contact,
    ContactPolicyConfig,
    ContactState,
    evaluate,
    load_config,
    parse_config,
)
from bestnext.errors import ConfigInvalid
from bestnext.settings import DEMO_CONFIG_DIR

CFG = load_config(DEMO_CONFIG_DIR)
CAL = BusinessCalendar()
EMPTY = ContactState("p1")


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)  # type: ignore[misc]


def test_demo_policy_loads() -> None:
    assert CFG.marketing_max_contacts == 3 and CFG.marketing_window_days == 7
    assert CFG.decline_cool_off_days == 30


@pytest.mark.parametrize("channel", ["sms", "call_center"])
@pytest.mark.parametrize("purpose", ["service", "marketing"])
def test_no_sms_or_call_at_night(channel: str, purpose: str) -> None:
    night = rome(2025, 4, 18, 23, 5)  # Antonio's lead, a Friday night
    result = evaluate(EMPTY, channel, purpose, night, CFG)
    assert not result.allowed and result.reasons == (f"quiet_hours:{channel}",)
    assert result.next_allowed_at == rome(2025, 4, 19, 9, 0)


def test_email_allowed_at_night_marketing_push_is_not() -> None:
    night = rome(2025, 2, 26, 21, 23)
    assert evaluate(EMPTY, "email", "marketing", night, CFG).allowed
    assert evaluate(EMPTY, "push", "service", night, CFG).allowed
    assert not evaluate(EMPTY, "push", "marketing", night, CFG).allowed


def test_sundays_and_public_holidays_are_quiet() -> None:
    sunday = rome(2025, 6, 22, 11, 0)
    assert not evaluate(EMPTY, "sms", "marketing", sunday, CFG).allowed
    christmas = rome(2025, 12, 25, 11, 0)  # a Thursday
    result = evaluate(EMPTY, "call_center", "service", christmas, CFG)
    assert not result.allowed and result.next_allowed_at == rome(2025, 12, 27, 9, 0)  # 26th: St Stephen
    easter_monday = rome(2025, 4, 21, 10, 0)
    assert not evaluate(EMPTY, "sms", "service", easter_monday, CFG).allowed


def test_inbound_contact_ignores_quiet_hours_but_not_budget() -> None:
    night = rome(2025, 6, 23, 22, 0)
    assert evaluate(EMPTY, "call_center", "marketing", night, CFG, inbound=True).allowed


def marketing(at: datetime, channel: str = "email") -> Contact:
    return Contact(at, channel, "marketing", "offer_x")


def test_weekly_marketing_budget_counts_all_channels_and_inbound() -> None:
    state = ContactState("p1", (marketing(rome(2025, 3, 3, 10)), marketing(rome(2025, 3, 4, 10), "sms"),
                                Contact(rome(2025, 3, 5, 10), "branch", "marketing", "o", "in")))
    at = rome(2025, 3, 6, 12)
    result = evaluate(state, "email", "marketing", at, CFG)
    assert not result.allowed and result.reasons == ("marketing_budget",)
    assert result.next_allowed_at is not None and result.next_allowed_at > rome(2025, 3, 10, 10)
    assert evaluate(state, "email", "marketing", result.next_allowed_at, CFG).allowed
    assert evaluate(state, "email", "service", at, CFG).allowed  # service is never budgeted


def test_one_marketing_contact_per_channel_per_day() -> None:
    state = ContactState("p1", (marketing(rome(2025, 3, 3, 10)),))
    result = evaluate(state, "email", "marketing", rome(2025, 3, 3, 18), CFG)
    assert result.reasons == ("daily_budget:email",) and result.next_allowed_at == rome(2025, 3, 4, 0, 0)
    assert evaluate(state, "sms", "marketing", rome(2025, 3, 3, 18), CFG).allowed


def test_decline_cool_off_is_per_action() -> None:
    state = ContactState("p1", declines=(("offer_x", rome(2025, 3, 1, 10)),))
    at = rome(2025, 3, 10, 10)
    result = evaluate(state, "email", "marketing", at, CFG, action_id="offer_x")
    assert result.reasons == ("decline_cool_off:offer_x",)
    assert result.next_allowed_at == rome(2025, 3, 1, 10).astimezone(UTC) + timedelta(days=30)
    assert evaluate(state, "email", "marketing", at, CFG, action_id="offer_y").allowed


def test_complaint_cool_off_blocks_all_marketing() -> None:
    state = ContactState("p1", complaints=(rome(2025, 3, 1, 10),))
    assert not evaluate(state, "email", "marketing", rome(2025, 3, 2, 10), CFG).allowed
    assert evaluate(state, "email", "service", rome(2025, 3, 2, 10), CFG).allowed


def test_open_service_case_suppresses_marketing_until_closed() -> None:
    state = ContactState("p1", open_cases=("case-1",))
    result = evaluate(state, "email", "marketing", rome(2025, 6, 24, 9, 1), CFG)
    assert not result.allowed and "open_service_case" in result.reasons and result.next_allowed_at is None
    assert evaluate(state, "call_center", "service", rome(2025, 6, 24, 9, 1), CFG).allowed


def test_bad_config_is_reported() -> None:
    with pytest.raises(ConfigInvalid) as info:
        parse_config("marketing_max_contacts: -1\n")
    assert info.value.errors[0]["field"] == "marketing_max_contacts"


# ---------------------------------------------------------------- properties

CHANNELS = ["email", "sms", "call_center", "push", "branch", "social"]
START = datetime(2025, 1, 1, tzinfo=UTC)
moments = st.integers(0, 60 * 24 * 90).map(lambda m: START + timedelta(minutes=m))
contacts = st.builds(Contact, moments, st.sampled_from(CHANNELS), st.sampled_from(["service", "marketing"]),
                     st.sampled_from(["offer_a", "offer_b", None]), st.sampled_from(["in", "out"]))
states = st.builds(ContactState, st.just("p"), st.lists(contacts, max_size=12).map(tuple),
                   st.lists(st.tuples(st.sampled_from(["offer_a", "offer_b"]), moments), max_size=2).map(tuple),
                   st.lists(moments, max_size=1).map(tuple),
                   st.lists(st.just("case"), max_size=1).map(tuple))
configs = st.builds(ContactPolicyConfig, marketing_max_contacts=st.integers(0, 4),
                    marketing_window_days=st.integers(1, 10), marketing_per_channel_per_day=st.integers(0, 2),
                    decline_cool_off_days=st.integers(0, 40), complaint_cool_off_days=st.integers(0, 40))


@settings(max_examples=300, deadline=None)
@given(states, st.sampled_from(CHANNELS), st.sampled_from(["service", "marketing"]), moments,
       st.sampled_from(["offer_a", "offer_b", None]), configs)
def test_next_allowed_at_is_allowed_and_later(state: ContactState, channel: str, purpose: str, at: datetime,
                                              action: str | None, cfg: ContactPolicyConfig) -> None:
    result = evaluate(state, channel, purpose, at, cfg, CAL, action)
    if result.allowed:
        assert result.reasons == () and result.next_allowed_at is None
        return
    assert result.reasons
    if result.next_allowed_at is not None:
        assert result.next_allowed_at > at
        assert evaluate(state, channel, purpose, result.next_allowed_at, cfg, CAL, action).allowed


@settings(max_examples=300, deadline=None)
@given(states, st.sampled_from(CHANNELS), moments, configs)
def test_allowed_marketing_respects_every_budget(state: ContactState, channel: str, at: datetime,
                                                 cfg: ContactPolicyConfig) -> None:
    if not evaluate(state, channel, "marketing", at, cfg, CAL).allowed:
        return
    window = [c for c in state.contacts
              if c.purpose == "marketing" and at - timedelta(days=cfg.marketing_window_days) < c.at <= at]
    assert len(window) < cfg.marketing_max_contacts
    day = at.astimezone(ROME).date()
    assert len([c for c in window if c.channel == channel and c.at.astimezone(ROME).date() == day]) \
        < cfg.marketing_per_channel_per_day
    assert not state.open_cases
    assert not any(c <= at < c + timedelta(days=cfg.complaint_cool_off_days) for c in state.complaints)


@settings(max_examples=200, deadline=None)
@given(states, st.sampled_from(["sms", "call_center"]), st.sampled_from(["service", "marketing"]), moments)
def test_sms_and_calls_never_allowed_at_night_sundays_or_holidays(state: ContactState, channel: str,
                                                                  purpose: str, at: datetime) -> None:
    local = at.astimezone(ROME)
    if evaluate(state, channel, purpose, at, CFG, CAL).allowed:
        assert 9 <= local.hour < 20 and local.weekday() != 6 and not CAL.is_holiday(local.date())


@settings(max_examples=200, deadline=None)
@given(states, st.sampled_from(CHANNELS), moments, configs)
def test_service_is_never_blocked_by_marketing_rules(state: ContactState, channel: str, at: datetime,
                                                     cfg: ContactPolicyConfig) -> None:
    result = evaluate(state, channel, "service", at, cfg, CAL, "offer_a")
    assert all(r.startswith("quiet_hours:") for r in result.reasons)
