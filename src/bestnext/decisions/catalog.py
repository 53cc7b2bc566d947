"""The action catalog: what the bank can do for (or propose to) a person, validated from YAML.

The catalog is versioned (``version``) and every decision records the version it used.
``load_catalog`` reports every problem with its line and field, e.g. for
``bestnext catalog check FILE``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import TemplateSyntaxError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bestnext.decisions.rules import Rule
from bestnext.decisions.treatments import ENV
from bestnext.decisions.yamlines import LinedDoc, load_with_lines
from bestnext.errors import ConfigInvalid

Channel = Literal["email", "sms", "call_center", "branch", "social", "web", "app", "push", "post"]
CHANNELS: tuple[str, ...] = Channel.__args__  # type: ignore[attr-defined]
Purpose = Literal["service", "marketing"]
DataCategory = Literal["declared", "request", "contract", "behavioural", "sensitive"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """A text in Italian and English (Jinja2 template)."""

    it: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.it


class Treatment(_Strict):
    """How an action is delivered on one channel: a message, a call script or a branch briefing."""

    kind: Literal["message", "script", "briefing"] = "message"
    subject: Text | None = None
    text: Text


class Offer(_Strict):
    """An incentive, with its own conditions, budget and validity."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    product: str | None = None
    description: Text
    conditions: list[Rule] = Field(default_factory=list)
    budget: int | None = Field(default=None, ge=0, description="how many may be granted in total")
    valid_days: int | None = Field(default=None, ge=1, description="valid for N days from the offer")
    valid_from: date | None = None
    valid_until: date | None = None
    boost: float = Field(default=1.0, gt=0, description="multiplies the action's value")


class ValueRule(_Strict):
    """A business value that applies when its rules hold (first match wins)."""

    when: list[Rule]
    value: float = Field(ge=0)


class Levers(_Strict):
    """Business levers: a weight and a campaign priority, both multiply the score."""

    weight: float = Field(default=1.0, gt=0)
    priority: float = Field(default=1.0, gt=0)


class Action(_Strict):
    """One action of the catalog."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    purpose: Purpose
    product: str | None = None
    issue: str = "general"
    group: str = "general"
    eligibility: list[Rule] = Field(default_factory=list)
    applicability: list[Rule] = Field(default_factory=list)
    suitability: list[Rule] = Field(default_factory=list)
    value: float = Field(default=1.0, ge=0)
    value_rules: list[ValueRule] = Field(default_factory=list)
    levers: Levers = Levers()
    offers: list[str] = Field(default_factory=list)
    valid_from: date | None = None
    valid_until: date | None = None
    context_weights: dict[str, float] = Field(default_factory=dict)
    data_categories: list[DataCategory] = Field(default_factory=lambda: list[DataCategory](["declared"]))
    treatments: dict[Channel, Treatment] = Field(min_length=1)

    @field_validator("context_weights")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in value.values()):
            raise ValueError("context weights must be >= 0")
        return value


class Catalog(_Strict):
    """A versioned catalog of actions and offers."""

    version: str = Field(min_length=1)
    exploration: float = Field(default=1.0, ge=0, description="scale of the posterior spread explored")
    interest_weight: float = Field(
        default=1.0, ge=1.0, description="context weight of an action whose product the person is interested in: "
        "signalled by the moment (the trigger's products) or, with profiling consent, in the profile's interests")
    actions: list[Action] = Field(min_length=1)
    offers: list[Offer] = Field(default_factory=list)

    def offer(self, offer_id: str) -> Offer:
        return next(o for o in self.offers if o.id == offer_id)

    def action(self, action_id: str) -> Action | None:
        return next((a for a in self.actions if a.id == action_id), None)


def _data_path(data: Any, loc: tuple[int | str, ...]) -> tuple[str | int, ...]:
    """Keep the parts of a pydantic error location that exist in the data (drops union tags)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and str(part) in node:
            node = node[str(part)]
            path.append(str(part))
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            path.append(part)
    return tuple(path)


def _field_name(data: Any, path: tuple[str | int, ...]) -> str:
    parts: list[str] = []
    node = data
    for part in path:
        node = node[part]
        if isinstance(part, int):
            ident = node.get("id") if isinstance(node, dict) else None
            parts.append(f"[{ident or part}]")
        else:
            parts.append(("." if parts else "") + part)
    return "".join(parts)


def _error(doc: LinedDoc, path: tuple[str | int, ...], message: str) -> dict[str, Any]:
    return {"line": doc.line_of(path), "field": _field_name(doc.data, path), "message": message}


def _cross_checks(doc: LinedDoc, catalog: Catalog, products: set[str] | None) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    offer_ids = [o.id for o in catalog.offers]
    for kind, ids in (("actions", [a.id for a in catalog.actions]), ("offers", offer_ids)):
        seen: set[str] = set()
        for i, ident in enumerate(ids):
            if ident in seen:
                errors.append(_error(doc, (kind, i, "id"), f"duplicate id '{ident}'"))
            seen.add(ident)
    for i, action in enumerate(catalog.actions):
        for j, offer_id in enumerate(action.offers):
            if offer_id not in offer_ids:
                errors.append(_error(doc, ("actions", i, "offers", j), f"unknown offer '{offer_id}'"))
        if products is not None and action.product and action.product not in products:
            errors.append(_error(doc, ("actions", i, "product"), f"unknown product '{action.product}'"))
        for channel, treatment in action.treatments.items():
            for lang in ("it", "en"):
                for part in ("text", "subject"):
                    text = getattr(treatment, part)
                    try:
                        if text is not None:
                            ENV.parse(text.get(lang))
                    except TemplateSyntaxError as exc:
                        errors.append(_error(doc, ("actions", i, "treatments", channel, part, lang),
                                             f"template error: {exc.message}"))
    return errors


def parse_catalog(text: str, source: str = "catalog.yaml", products: set[str] | None = None) -> Catalog:
    """Validate catalog YAML ``text``; every problem is reported with its line and field."""
    doc = load_with_lines(text, source)
    try:
        catalog = Catalog.model_validate(doc.data)
    except ValidationError as exc:
        errors = [_error(doc, _data_path(doc.data, e["loc"]), e["msg"]) for e in exc.errors()]
        raise ConfigInvalid(f"{source}: {len(errors)} error(s)", errors=errors) from None
    errors = _cross_checks(doc, catalog, products)
    if errors:
        raise ConfigInvalid(f"{source}: {len(errors)} error(s)", errors=errors)
    return catalog


def product_ids(config_dir: Path) -> set[str] | None:
    """The product ids of ``products.yaml`` next to the catalog, if there is one."""
    path = config_dir / "products.yaml"
    if not path.exists():
        return None
    data = yaml.safe_load(path.read_text()) or {}
    return {str(p["id"]) for p in data.get("products", [])}


def load_catalog(path: Path) -> Catalog:
    """Load and validate a catalog file (products checked against ``products.yaml`` beside it)."""
    if not path.exists():
        raise ConfigInvalid(f"{path}: no such file")
    return parse_catalog(path.read_text(), str(path), product_ids(path.parent))


__all__ = ["CHANNELS", "Action", "Catalog", "Levers", "Offer", "Text", "Treatment", "load_catalog",
           "parse_catalog"]
