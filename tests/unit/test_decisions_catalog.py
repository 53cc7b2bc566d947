"""Catalog validation and the rule language (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bestnext.decisions.catalog import load_catalog, parse_catalog
from bestnext.decisions.rules import AnyOf, Condition, evaluate, holds, parse_rules
from bestnext.errors import ConfigInvalid
from bestnext.settings import DEMO_CONFIG_DIR

MINIMAL = """\
version: "1"
offers:
  - id: gift
    description: {it: regalo, en: gift}
actions:
  - id: offer_x
    purpose: marketing
    product: prepaid_card
    offers: [gift]
    eligibility:
      - {field: age, op: ">=", value: 18}
    treatments:
      email:
        text: {it: "Ciao {{ first_name }}", en: "Hi {{ first_name }}"}
"""


def errors_of(text: str) -> list[dict[str, object]]:
    with pytest.raises(ConfigInvalid) as info:
        parse_catalog(text, products={"prepaid_card"})
    return info.value.errors


def test_demo_catalog_is_valid_and_has_the_shared_ids() -> None:
    catalog = load_catalog(DEMO_CONFIG_DIR / "catalog.yaml")
    ids = {a.id for a in catalog.actions}
    assert ids == {"answer_request", "recontact_failed_operation", "ship_security_token",
                   "confirm_subscription", "lead_first_contact", "offer_prepaid_card", "offer_pension_fund",
                   "offer_family_mortgage", "offer_savings_junior", "offer_current_account"}
    assert {o.id for o in catalog.offers} == {"first_year_free", "branch_visit_gift", "family_rate_discount"}
    assert catalog.offer("branch_visit_gift").valid_days == 5


def test_minimal_catalog_parses() -> None:
    catalog = parse_catalog(MINIMAL, products={"prepaid_card"})
    assert catalog.version == "1" and catalog.actions[0].offers == ["gift"]


def test_bad_operator_reports_line_and_field() -> None:
    errors = errors_of(MINIMAL.replace('op: ">="', 'op: "=~"'))
    assert errors and all(e["line"] == 11 for e in errors)
    assert all(str(e["field"]).startswith("actions[offer_x].eligibility") for e in errors)


def test_unknown_offer_product_and_duplicate_ids_are_reported_with_lines() -> None:
    text = MINIMAL.replace("offers: [gift]", "offers: [nope]").replace("product: prepaid_card",
                                                                      "product: yacht")
    text += text[text.index("  - id: offer_x"):]
    errors = errors_of(text)
    messages = {(e["line"], e["message"]) for e in errors}
    assert (9, "unknown offer 'nope'") in messages
    assert (8, "unknown product 'yacht'") in messages
    assert any(m == "duplicate id 'offer_x'" for _, m in messages)


def test_missing_language_and_bad_purpose() -> None:
    text = MINIMAL.replace('en: "Hi {{ first_name }}"', "").replace("purpose: marketing", "purpose: sales")
    fields = {e["field"]: e["line"] for e in errors_of(text)}
    assert fields["actions[offer_x].purpose"] == 7
    assert fields["actions[offer_x].treatments.email.text"] == 14


def test_template_syntax_error_is_reported() -> None:
    errors = errors_of(MINIMAL.replace("{{ first_name }}\"", "{{ first_name \"", 1))
    assert errors[0]["field"] == "actions[offer_x].treatments.email.text.it"
    assert "template error" in str(errors[0]["message"])


def test_yaml_syntax_error_has_a_line() -> None:
    errors = errors_of(MINIMAL + "  - id: [unclosed\n")
    assert errors[0]["line"] is not None


def test_unknown_field_is_refused() -> None:
    errors = errors_of(MINIMAL.replace("    purpose: marketing", "    purpose: marketing\n    colour: red"))
    assert errors[0]["field"] == "actions[offer_x].colour" and errors[0]["line"] == 8


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid):
        load_catalog(tmp_path / "nope.yaml")


def test_rules_any_and_missing_facts() -> None:
    rules = parse_rules([{"any": [{"field": "income", "op": "missing"},
                                  {"field": "income", "op": ">=", "value": 1500}]}])
    assert isinstance(rules[0], AnyOf)
    assert evaluate(rules, {}).passed
    assert evaluate(rules, {"income": 2000}).passed
    verdict = evaluate(rules, {"income": 900})
    assert not verdict.passed and verdict.failed == "(income missing or income >= 1500)"


def test_rules_are_not_code() -> None:
    with pytest.raises(ValueError):
        parse_rules([{"field": "age", "op": "__import__('os')", "value": 1}])


@given(st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_comparison_rules_match_python(age: int, limit: int) -> None:
    for op, expected in ((">=", age >= limit), ("<", age < limit), ("==", age == limit), ("!=", age != limit)):
        assert holds(Condition(field="age", op=op, value=limit), {"age": age}) is expected  # type: ignore[arg-type]
    assert not holds(Condition(field="age", op=">=", value=limit), {})


@given(st.lists(st.sampled_from(["a", "b", "c"])), st.sampled_from(["a", "b", "c"]))
def test_contains_and_not_contains_are_complementary(held: list[str], item: str) -> None:
    facts = {"holdings": held}
    assert holds(Condition(field="holdings", op="contains", value=item), facts) != holds(
        Condition(field="holdings", op="not_contains", value=item), facts)
