"""A small, safe rule language for the catalog: lists of ``{field, op, value}`` conditions.

A rule list holds when every rule holds; ``{any: [...]}`` holds when one of its rules does.
Fields are names of the facts of a profile view (``age``, ``holdings``, ``residency``, ...).
Nothing is evaluated as code.

Examples
--------
>>> rules = parse_rules([{"field": "age", "op": ">=", "value": 18},
...                      {"field": "holdings", "op": "not_contains", "value": "prepaid_card"}])
>>> evaluate(rules, {"age": 21, "holdings": ["current_account"]}).passed
True
>>> evaluate(rules, {"age": 16, "holdings": []}).failed
'age >= 18'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter

Op = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not_in", "contains", "not_contains",
             "exists", "missing"]


class Condition(BaseModel):
    """One condition on one fact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(min_length=1)
    op: Op
    value: Any = None

    def describe(self) -> str:
        if self.op in ("exists", "missing"):
            return f"{self.field} {self.op}"
        return f"{self.field} {self.op} {self.value}"


def _kind(raw: Any) -> str:
    """Which kind of rule a raw value is (so that errors speak of one kind only)."""
    if isinstance(raw, dict):
        return "any" if "any" in raw else "condition"
    return "any" if isinstance(raw, AnyOf) else "condition"


class AnyOf(BaseModel):
    """Holds when at least one of its rules holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    any: list[Annotated[Annotated[Condition, Tag("condition")] | Annotated[AnyOf, Tag("any")],
                        Discriminator(_kind)]] = Field(min_length=1)

    def describe(self) -> str:
        return "(" + " or ".join(r.describe() for r in self.any) + ")"


Rule = Annotated[Annotated[Condition, Tag("condition")] | Annotated[AnyOf, Tag("any")], Discriminator(_kind)]
_RULES: TypeAdapter[list[Rule]] = TypeAdapter(list[Rule])


def parse_rules(raw: Any) -> list[Rule]:
    """Validate a raw YAML list of rules (raises ``pydantic.ValidationError``)."""
    return _RULES.validate_python(raw or [])


def _compare(op: str) -> Callable[[Any, Any], bool]:
    return {
        "==": lambda a, b: bool(a == b),
        "!=": lambda a, b: bool(a != b),
        "<": lambda a, b: bool(a < b),
        "<=": lambda a, b: bool(a <= b),
        ">": lambda a, b: bool(a > b),
        ">=": lambda a, b: bool(a >= b),
        "in": lambda a, b: a in b,
        "not_in": lambda a, b: a not in b,
        "contains": lambda a, b: b in a,
        "not_contains": lambda a, b: b not in a,
    }[op]


def holds(rule: Rule, facts: Mapping[str, Any]) -> bool:
    """Whether one rule holds on ``facts``; a missing fact or a type clash makes it fail.

    >>> holds(Condition(field="age", op=">", value=30), {"age": "old"})
    False
    >>> holds(Condition(field="holdings", op="not_contains", value="x"), {})
    True
    """
    if isinstance(rule, AnyOf):
        return any(holds(r, facts) for r in rule.any)
    present = facts.get(rule.field) is not None
    if rule.op == "exists":
        return present
    if rule.op == "missing":
        return not present
    if not present:
        # an absent collection holds nothing; every other test on a missing fact fails
        return rule.op == "not_contains"
    try:
        return _compare(rule.op)(facts[rule.field], rule.value)
    except TypeError:
        return False


@dataclass(frozen=True, slots=True)
class Verdict:
    """The result of a rule list: which rules passed, and the first that failed."""

    passed: bool
    passed_rules: tuple[str, ...]
    failed: str | None = None


def evaluate(rules: Sequence[Rule], facts: Mapping[str, Any]) -> Verdict:
    """Evaluate ``rules`` (all must hold) and explain the outcome."""
    passed: list[str] = []
    for rule in rules:
        if not holds(rule, facts):
            return Verdict(False, tuple(passed), rule.describe())
        passed.append(rule.describe())
    return Verdict(True, tuple(passed))


__all__ = ["AnyOf", "Condition", "Rule", "Verdict", "evaluate", "holds", "parse_rules"]
