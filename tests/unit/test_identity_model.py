"""Identifiers of a message and the profile fold: pure rules, no database."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bestnext.identity.model import extract, household_of_message, joint_holders, normalize_phone
from bestnext.profiles.model import ProfileState, facts_of, stage_rank

T = datetime(2025, 2, 21, 10, 35, tzinfo=UTC)


def test_extract_reads_every_place_an_identifier_can_be() -> None:
    msg = {"type": "track", "userId": 100234, "anonymousId": "fb-1",
           "traits": {"email": "X@Y.IT"},
           "context": {"traits": {"phone": "335 123 4567", "email": "other@y.it"},
                       "externalIds": [{"id": 1000234, "type": "Facebook_ID"},
                                       {"id": "dmp-1", "type": "dmp_cookie"}, {"type": "no_id"}]}}
    assert [(i.type, i.value) for i in extract(msg)] == [
        ("user_id", "100234"), ("email", "other@y.it"), ("email", "x@y.it"),
        ("phone", "+393351234567"), ("dmp_cookie", "dmp-1"), ("facebook_id", "1000234"),
        ("anonymous_id", "fb-1")]


def test_alias_links_previous_id_and_user_id() -> None:
    ids = extract({"type": "alias", "previousId": "web-1", "userId": "C1"})
    assert [(i.type, i.value) for i in ids] == [("user_id", "C1"), ("anonymous_id", "web-1")]


def test_a_group_calls_traits_are_the_groups() -> None:
    ids = extract({"type": "group", "userId": "C1", "groupId": "H-1", "traits": {"email": "family@x.it"}})
    assert [(i.type, i.value) for i in ids] == [("user_id", "C1")]
    assert household_of_message({"type": "group", "groupId": "H-1", "traits": {"household_id": "H-2"}}) == "H-1"


def test_junk_identifiers_are_dropped() -> None:
    assert extract({"userId": "", "anonymousId": None, "traits": {"email": "nope", "phone": "12"}}) == []
    assert normalize_phone("+39 347 111 2233") == normalize_phone("3471112233") == "+393471112233"


def test_household_rule_and_joint_holders() -> None:
    assert household_of_message({"type": "group", "groupId": "fam-1", "traits": {"type": "household"}}) == "fam-1"
    assert household_of_message({"type": "group", "groupId": "team"}) is None
    assert household_of_message({"type": "track", "context": {"traits": {"household_id": "H-9"}}}) == "H-9"
    assert joint_holders({"event": "Account Opened", "properties": {"holders": ["C1", "C1"]}}) == ["C1"]


def test_stage_follows_the_funnel() -> None:
    state = ProfileState()
    state.apply(facts_of({"type": "page", "anonymousId": "w", "properties": {"path": "/mutui"}},
                         "web", T, "m1"))
    assert state.stage is None and "family_mortgage" in state.interests
    state.apply(facts_of({"type": "identify", "anonymousId": "w", "traits": {"email": "a@b.it"}},
                         "web", T, "m2"))
    assert state.stage == "prospect"
    state.apply(facts_of({"type": "track", "event": "Product Subscribed", "anonymousId": "w",
                          "properties": {"product": "pension_fund"}}, "branch", T, "m3"))
    assert state.stage == "customer" and state.holdings["pension_fund"]["message_id"] == "m3"
    assert state.event_count == 3


def test_core_banking_records_are_holdings_but_failures_are_not() -> None:
    held = facts_of({"event": "Card Issued", "properties": {"product": "prepaid_card"}}, "core_banking", T, "m")
    failed = facts_of({"event": "Transfer Failed", "properties": {"product": "current_account"}},
                      "core_banking", T, "m")
    assert held.holdings == ("prepaid_card",) and failed.holdings == ()


_event = st.builds(
    lambda kind, product, minute, contact: facts_of(
        {"type": "track", "event": kind, "anonymousId": "w",
         "traits": {"email": "a@b.it"} if contact else {},
         "properties": {"product": product}},
        "web", datetime(2025, 1, 1, 0, minute, tzinfo=UTC), f"m{minute}"),
    st.sampled_from(["Form Submitted", "Product Subscribed", "Seen"]),
    st.sampled_from(["prepaid_card", "pension_fund", "nothing"]),
    st.integers(0, 59), st.booleans())


@given(st.lists(_event, max_size=12), st.integers(0, 12))
def test_folds_combine_like_one_fold_and_stage_never_goes_back(events: list, cut: int) -> None:  # type: ignore[type-arg]
    whole, left, right = ProfileState(), ProfileState(), ProfileState()
    ranks = []
    for i, fact in enumerate(events):
        whole.apply(fact)
        ranks.append(stage_rank(whole.stage))
        (left if i < cut else right).apply(fact)
    left.combine(right)
    assert ranks == sorted(ranks)
    assert left.to_doc() == whole.to_doc() and left.event_count == whole.event_count
