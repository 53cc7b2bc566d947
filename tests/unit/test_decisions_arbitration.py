"""The pure decide: rules, scoring, channels, offers, treatments, explanation, control group.

Uses the real catalog of the demo bank, the real consent policy on an in-memory consent state
and the learning half's real (in-memory) ModelBank.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pytest

from bestnext.clock import ROME, VirtualClock
from bestnext.consent.model import ConsentEntry, ConsentState, Purpose, Source
from bestnext.decisions.arbitration import PolicyInputs, decide
from bestnext.decisions.catalog import load_catalog
from bestnext.decisions.consent_use import bind
from bestnext.decisions.contact_policy import Contact, ContactState, load_config
from bestnext.decisions.learning.bank import ModelBank
from bestnext.decisions.model import Decision, DecisionContext
from bestnext.decisions.profile_view import build_view
from bestnext.settings import DEMO_CONFIG_DIR

CATALOG = load_catalog(DEMO_CONFIG_DIR / "catalog.yaml")
POLICY = load_config(DEMO_CONFIG_DIR)
MORNING = datetime(2025, 2, 27, 9, 30, tzinfo=ROME)  # a Thursday
LEVEL_2_5 = ("personal_data", "own_marketing", "profiling")


def consents(*granted: str) -> Any:
    t = datetime(2000, 1, 1, tzinfo=ROME)
    return bind(ConsentState("p", tuple(ConsentEntry(Purpose(p), True, Source("web"), t) for p in granted)))


def martina(**overrides: Any) -> Any:
    args: dict[str, Any] = {"lifecycle_stage": "lead", "holdings": [], "interests": ["prepaid_card"],
                            "household": None, "event_count": 4, "at": MORNING}
    args.update(overrides)
    return build_view("martina", {"age": 21, "first_name": "Martina"}, **args)


def run(view: Any = None, *, granted: tuple[str, ...] = LEVEL_2_5, at: datetime = MORNING,
        state: ContactState | None = None, channel: str | None = None, reason: str = "browse",
        control_rate: float = 0.0, usage: dict[str, int] | None = None, n: int = 10, lang: str = "en",
        variables: dict[str, object] | None = None, inbound: str | None = None) -> Decision:
    policy = PolicyInputs(state or ContactState("martina"), POLICY, offer_usage=usage or {})
    ctx = DecisionContext(at=at, reason=reason, language=lang, variables=variables or {}, inbound_channel=inbound)
    return decide(view or martina(), ctx, CATALOG, policy, ModelBank(), consent=consents(*granted),
                  channel=channel, n=n, rng=np.random.default_rng(7), control_rate=control_rate)


def ids(decision: Decision) -> list[str]:
    return [a.action_id for a in decision.ranked]


def test_prepaid_card_call_with_first_year_free_and_explanation() -> None:
    d = run(channel="call_center", variables={"operator": "Luigi", "requested": ["prepaid_card"]})
    card = next(a for a in d.ranked if a.action_id == "offer_prepaid_card")
    assert card.channel == "call_center" and card.offer == "first_year_free" and card.treatment_kind == "script"
    assert card.text == ("Hi Martina, I'm calling about your request. We are giving you the first year free. "
                         "If you like, we can activate your card now, by phone.")
    unasked = next(a for a in run(channel="call_center").ranked if a.action_id == "offer_prepaid_card")
    assert unasked.text.startswith("Hi Martina, I'm calling about our prepaid card.")  # no request to speak of
    ex = card.explanation
    assert "age >= 18" in ex.rules_passed and "holdings not_contains prepaid_card" in ex.rules_passed
    assert [c.purpose_of_use for c in ex.consents] == ["profiling", "marketing"] and all(c.allowed for c in ex.consents)
    assert ex.signals_used == ("interests",)
    terms = ex.score_terms
    assert set(terms) == {"propensity", "context_weight", "value", "levers"}
    assert terms["value"] == pytest.approx(60 * 1.3)  # interest value rule x offer boost
    assert card.score == pytest.approx(terms["propensity"] * terms["context_weight"] * terms["value"] * terms["levers"])
    assert 0.0 <= card.probability <= 1.0 and 0.0 < card.propensity < 1.0


def test_behavioural_signals_are_used_only_with_profiling() -> None:
    d = run(granted=("personal_data", "own_marketing"), channel="email")
    card = next(a for a in d.ranked if a.action_id == "offer_prepaid_card")
    assert card.explanation.signals_used == ()
    assert card.explanation.score_terms["value"] == pytest.approx(40 * 1.3)
    assert card.explanation.consents[0].allowed is False


def test_no_marketing_without_own_marketing() -> None:
    d = run(granted=("personal_data",))
    assert not any(a.purpose == "marketing" for a in d.ranked)
    assert d.rejected["offer_prepaid_card"].startswith("consent: marketing")


def test_held_products_and_eligibility_rules_exclude() -> None:
    d = run(martina(holdings=["prepaid_card"], lifecycle_stage="customer"))
    assert "offer_prepaid_card" not in ids(d)
    assert d.rejected["offer_prepaid_card"] == "rule failed: holdings not_contains prepaid_card"
    young = build_view("kid", {"age": 16}, lifecycle_stage="lead", holdings=[], interests=[], household=None,
                       event_count=0, at=MORNING)
    assert run(young).rejected["offer_prepaid_card"] == "rule failed: age >= 18"


def test_service_before_sales_with_an_open_case() -> None:
    d = run(reason="own_request", state=ContactState("martina", open_cases=("c1",)))
    assert ids(d)[0] == "answer_request"
    assert all(a.purpose == "service" for a in d.ranked)
    assert "open_service_case" in d.rejected["offer_prepaid_card"]


def test_service_actions_need_their_context() -> None:
    assert "answer_request" not in ids(run(reason="browse"))
    d = run(reason="token_problem", channel="social",
            view=build_view("giorgio", {"age": 35, "first_name": "Giorgio"}, lifecycle_stage="customer",
                            holdings=["current_account", "savings_junior"], interests=["family_mortgage"],
                            household={"id": "h"}, event_count=9, at=MORNING))
    assert ids(d)[0] == "ship_security_token"
    assert d.ranked[0].text.startswith("Hi Giorgio, don't worry: tomorrow morning we ship you a new token.")


def test_quiet_hours_pick_another_channel() -> None:
    night = datetime(2025, 4, 18, 23, 5, tzinfo=ROME)
    antonio = build_view("antonio", {"age": 33, "first_name": "Antonio"}, lifecycle_stage="lead", holdings=[],
                         interests=["pension_fund"], household=None, event_count=2, at=night)
    d = run(antonio, at=night)
    pension = next(a for a in d.ranked if a.action_id == "offer_pension_fund")
    assert pension.channel == "email"
    assert run(antonio, at=night, channel="sms").rejected["offer_pension_fund"] == \
        "contact policy on sms: quiet_hours:sms"


def test_branch_visit_gift_valid_five_days() -> None:
    at = datetime(2018, 4, 27, 14, 22, tzinfo=ROME)  # Antonio, a Friday
    antonio = build_view("antonio", {"age": 33, "first_name": "Antonio"}, lifecycle_stage="lead", holdings=[],
                         interests=["pension_fund"], household=None, event_count=2, at=at)
    d = run(antonio, at=at, channel="call_center", variables={"branch": "MI01"})
    pension = next(a for a in d.ranked if a.action_id == "offer_pension_fund")
    assert pension.offer == "branch_visit_gift"
    assert pension.offer_valid_until is not None and pension.offer_valid_until.astimezone(ROME).date().isoformat() == "2018-05-02"
    assert "by 02/05/2018" in pension.text and "(MI01)" in pension.text


def test_offer_budget_exhausted_gives_no_offer() -> None:
    d = run(channel="email", usage={"first_year_free": 10000})
    card = next(a for a in d.ranked if a.action_id == "offer_prepaid_card")
    assert card.offer is None and "first year" not in card.text


def test_service_contact_without_own_marketing_carries_no_offer() -> None:
    d = run(granted=("personal_data",), reason="new_lead", channel="call_center")
    lead = d.ranked[0]
    assert lead.action_id == "lead_first_contact" and lead.offer is None
    assert run(reason="new_lead", channel="call_center").ranked[0].offer == "first_year_free"


def test_budget_spent_blocks_marketing_but_not_service() -> None:
    state = ContactState("martina", tuple(Contact(datetime(2025, 2, d, 10, tzinfo=ROME), "email", "marketing")
                                          for d in (24, 25, 26)))
    d = run(state=state, reason="new_lead")
    assert ids(d) == ["lead_first_contact"]


def test_control_group_gets_the_baseline_ranking() -> None:
    d = run(control_rate=1.0)
    assert d.control
    base = [a.explanation.score_terms["value"] * a.explanation.score_terms["levers"] for a in d.ranked]
    assert base == sorted(base, reverse=True)  # not personalised: neither models nor interests


def test_probabilities_form_a_distribution_and_n_is_respected() -> None:
    d = run(n=10)
    total = sum(a.probability for a in d.ranked)
    assert total == pytest.approx(1.0, abs=1e-6)
    assert len(run(n=2).ranked) == 2


def test_italian_text_and_clock_when_context_has_no_time() -> None:
    policy = PolicyInputs(ContactState("martina"), POLICY)
    d = decide(martina(), DecisionContext(reason="browse", language="it"), CATALOG, policy, ModelBank(),
               VirtualClock(MORNING), consent=consents(*LEVEL_2_5), channel="email", rng=np.random.default_rng(1))
    card = next(a for a in d.ranked if a.action_id == "offer_prepaid_card")
    assert card.text.startswith("Ciao Martina") and card.subject == "La carta prepagata per te"


def test_learning_moves_the_ranking() -> None:
    bank = ModelBank()
    view = martina()
    policy = PolicyInputs(ContactState("martina"), POLICY)
    for _ in range(300):
        bank.learn("offer_current_account", "email", {**view.features, "ctx:channel=email": 1.0}, 1.0)
        bank.learn("offer_prepaid_card", "email", {**view.features, "ctx:channel=email": 1.0}, 0.0)
    d = decide(view, DecisionContext(at=MORNING), CATALOG, policy, bank, consent=consents(*LEVEL_2_5),
               channel="email", rng=np.random.default_rng(3), control_rate=0.0)
    assert ids(d)[0] == "offer_current_account"


def test_family_mortgage_for_the_rossi_family_after_service() -> None:
    at = datetime(2025, 6, 24, 9, 2, tzinfo=ROME)
    giorgio = build_view("giorgio", {"age": 35, "first_name": "Giorgio", "household_id": "H-ROSSI"},
                         lifecycle_stage="customer", holdings=["current_account", "savings_junior"],
                         interests=["family_mortgage"], household={"id": "H-ROSSI"}, event_count=12, at=at)
    firsts = set()
    for seed in range(30):
        policy = PolicyInputs(ContactState("giorgio"), POLICY)
        ctx = DecisionContext(at=at, language="en", variables={"advisor": "Mr Verdi", "continuing_call": True})
        d = decide(giorgio, ctx, CATALOG,
                   policy, ModelBank(), consent=consents(*LEVEL_2_5, "satisfaction_survey"),
                   channel="call_center", rng=np.random.default_rng(seed))
        firsts.add(d.ranked[0].action_id)
        mortgage = d.ranked[0]
    assert firsts == {"offer_family_mortgage"}
    assert mortgage.offer == "family_rate_discount"
    assert mortgage.text.startswith("If you go to the branch, Mr Verdi will be waiting for you with a surprise")


def test_no_exploration_is_greedy() -> None:
    greedy = CATALOG.model_copy(update={"exploration": 0.0})
    policy = PolicyInputs(ContactState("martina"), POLICY)
    rankings = {tuple(a.action_id for a in decide(martina(), DecisionContext(at=MORNING), greedy, policy,
                                                   ModelBank(), consent=consents(*LEVEL_2_5),
                                                   rng=np.random.default_rng(s), control_rate=0.0).ranked)
                for s in range(10)}
    assert len(rankings) == 1


def test_lead_sms_speaks_of_the_signalled_product() -> None:
    at = datetime(2018, 4, 19, 9, 0, tzinfo=ROME)
    antonio = build_view("antonio", {"age": 33, "first_name": "Antonio"}, lifecycle_stage="lead", holdings=[],
                         interests=["pension_fund"], household=None, event_count=2, at=at)
    texts = []
    for variables in ({"simulation_yearly_eur": "2,500"}, {}):  # the amount is the person's own, or none
        ctx = DecisionContext(at=at, reason="new_lead", language="en", features={"signal_products": ["pension_fund"]},
                              variables=variables)
        d = decide(antonio, ctx, CATALOG, PolicyInputs(ContactState("antonio"), POLICY), ModelBank(),
                   consent=consents(*LEVEL_2_5), channel="sms", rng=np.random.default_rng(1))
        assert d.ranked[0].action_id == "lead_first_contact"
        texts.append(d.ranked[0].text)
    assert texts == ["Hi Antonio, we saw your pension simulation. We can guarantee an excellent annuity "
                     "with only 2,500 euro a year. To know more, just reply 'YES'.",
                     "Hi Antonio, we saw your request. To know more, just reply 'YES'."]


def test_what_the_person_is_interested_in_comes_first() -> None:
    """Interest weighs in the context term: with profiling, the profile's interests; always,
    what the moment signals. Without either, business value leads."""
    interested = martina(interests=["prepaid_card"])
    with_profiling = run(interested, channel="email", reason="campaign")
    assert ids(with_profiling)[0] == "offer_prepaid_card"
    card = with_profiling.ranked[0].explanation.score_terms
    assert card["context_weight"] == pytest.approx(CATALOG.interest_weight * _plain_weight("offer_prepaid_card"))
    without = run(interested, granted=("personal_data", "own_marketing"), channel="email", reason="campaign")
    assert ids(without)[0] != "offer_prepaid_card"  # interests unseen without profiling
    signalled = decide_with_signal(["prepaid_card"])
    assert ids(signalled)[0] == "offer_prepaid_card"  # the moment's signal needs no profiling


def _plain_weight(action_id: str) -> float:
    action = CATALOG.action(action_id)
    assert action is not None
    weights = action.context_weights
    return weights.get("campaign", weights.get("default", 1.0)) if weights else 1.0


def decide_with_signal(products: list[str]) -> Decision:
    policy = PolicyInputs(ContactState("martina"), POLICY, offer_usage={})
    ctx = DecisionContext(at=MORNING, reason="campaign", language="en", features={"signal_products": products})
    return decide(martina(interests=[]), ctx, CATALOG, policy, ModelBank(),
                  consent=consents("personal_data", "own_marketing"), channel="email", n=10,
                  rng=np.random.default_rng(7), control_rate=0.0)
