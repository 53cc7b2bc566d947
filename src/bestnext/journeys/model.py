"""Journeys as data: triggers, steps, goals, exits, re-entry and priority (validated YAML).

No I/O here: ``config.py`` loads files, ``engine.py`` runs instances.

Examples
--------
>>> parse_duration("90m")
datetime.timedelta(seconds=5400)
>>> holds([Condition(field="event.name", op="==", value="SMS Replied")], {"event.name": "SMS Replied"})
True
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``"5m"``, ``"2h"``, ``"3d"``, ``"1w"`` as a timedelta.

    >>> parse_duration("3d").days
    3
    """
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 5m, 2h, 3d)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Op = Literal["==", "!=", "in", "not_in", "exists", "missing", "contains", ">=", "<=", ">", "<"]


class Condition(_Strict):
    """``{field: event.properties.product, op: "==", value: prepaid_card}``."""

    field: str
    op: Op = "=="
    value: Any = None


def _check(cond: Condition, facts: dict[str, Any]) -> bool:
    have = facts.get(cond.field)
    if cond.op == "exists":
        return have not in (None, "", [], {})
    if cond.op == "missing":
        return have in (None, "", [], {})
    if cond.op == "contains":
        return have is not None and bool(cond.value in have)
    if cond.op in ("in", "not_in"):
        found = have in (cond.value or [])
        return bool(found) if cond.op == "in" else not found
    if cond.op in ("==", "!="):
        return bool(have == cond.value) == (cond.op == "==")
    if have is None:
        return False
    return bool({">=": have >= cond.value, "<=": have <= cond.value,
                 ">": have > cond.value, "<": have < cond.value}[cond.op])


def holds(conditions: list[Condition], facts: dict[str, Any]) -> bool:
    """All conditions hold on ``facts`` (a flat dict of dotted names)."""
    return all(_check(c, facts) for c in conditions)


class Trigger(_Strict):
    """An event (by name, or ``type: page``; ``type: identify`` for a profile change) with
    conditions on it; ``segment``: the person is (now) in the segment these profile conditions
    describe (entry into a segment, with the journey's re-entry rule against repeats)."""

    event: str | None = None
    type: str | None = None
    when: list[Condition] = []
    segment: list[Condition] = []

    @model_validator(mode="after")
    def _one_selector(self) -> Trigger:
        if not self.event and not self.type and not self.segment:
            raise ValueError("a trigger needs an event name, a message type or a segment")
        return self


class _Step(_Strict):
    id: str
    next: str | None = None


class Wait(_Step):
    do: Literal["wait"]
    for_: str | None = Field(default=None, alias="for")
    until_open: str | None = None  # a channel: wait until the contact policy allows it
    until_var: str | None = None  # a time stored in vars (e.g. call_at), plus ``for``

    @field_validator("for_")
    @classmethod
    def _duration(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v


class Debounce(_Step):
    do: Literal["debounce"]
    quiet: str = "5m"


class WaitEvent(_Step):
    do: Literal["wait_event"]
    event: str
    when: list[Condition] = []
    timeout: str
    after_contact: bool = True  # count the timeout from the last contact's time (not from now)
    on_event: str
    on_timeout: str


class Case(_Strict):
    when: list[Condition]
    next: str


class Branch(_Step):
    do: Literal["branch"]
    cases: list[Case]
    default: str


class Decide(_Step):
    do: Literal["decide"]
    purpose: Literal["service", "marketing"] = "marketing"
    channel: str | None = None
    store: str = "decision"
    at: Literal["now", "next_allowed"] = "now"  # decide for now, or for the channel's next allowed moment
    reason: str | None = None  # the decision context's reason (default: the entry event)
    remember_as: str | None = None  # store the moment decided for (e.g. call_at)
    signalled_only: bool = False  # only an action for a product the person signalled (the trigger, interests)
    on_none: str


class Send(_Step):
    do: Literal["send"]
    channel: str  # a channel, or "{vars.name}" / "{decision.channel}"
    purpose: Literal["service", "marketing"] | None = None
    action: str | None = None  # None: the stored decision's action
    product: str | None = None
    offer: str | None = None
    decision: str | None = None  # a stored decision to send (action, product, offer, text)
    at: Literal["now", "next_allowed", "call_at"] = "next_allowed"
    text: dict[str, str] = {}
    assignee: str | None = None
    remember_as: str | None = None  # store the due time in vars (e.g. call_at)
    mark: str | None = None  # set vars[mark] = true once scheduled (e.g. call_booked)


class OpenCase(_Step):
    do: Literal["open_case"]
    type: str


class Attach(_Step):
    """Attach the instance's events to the assisted contact already scheduled within the answer
    deadline (so that one call answers both)."""

    do: Literal["attach"]


class ResolveCases(_Step):
    do: Literal["resolve_cases"]


class UpdateTraits(_Step):
    do: Literal["update_traits"]
    traits: dict[str, Any]


class Count(_Step):
    do: Literal["count"]
    var: str
    max: int
    on_max: str


class End(_Step):
    do: Literal["end"]
    reason: str = "done"


Step = Annotated[Wait | Debounce | WaitEvent | Branch | Decide | Send | OpenCase | ResolveCases | UpdateTraits
                 | Count | End | Attach,
                 Field(discriminator="do")]


class Reentry(_Strict):
    """``never``, ``always`` or ``after`` a cool-down; ``while_active``: re-arm or ignore."""

    mode: Literal["never", "always", "after"] = "after"
    after: str = "1d"


class Journey(_Strict):
    id: str
    version: int = 1
    name: str = ""
    priority: int = 50
    entry: list[Trigger]
    profile: list[Condition] = []  # entry conditions on the profile and state
    goals: list[Trigger] = []
    exits: list[Trigger] = []
    reentry: Reentry = Reentry()
    steps: list[Step]

    @model_validator(mode="after")
    def _links(self) -> Journey:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError("step ids must be unique")
        for step in self.steps:
            for target in _targets(step):
                if target not in ids:
                    raise ValueError(f"step {step.id!r} goes to unknown step {target!r}")
        return self

    def has_step(self, step_id: str | None) -> bool:
        return step_id is not None and any(s.id == step_id for s in self.steps)

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def after(self, step_id: str) -> str | None:
        """The step that follows ``step_id`` (its ``next``, else the one below it)."""
        step = self.step(step_id)
        if step.next:
            return step.next
        index = [s.id for s in self.steps].index(step_id)
        return self.steps[index + 1].id if index + 1 < len(self.steps) else None


def _targets(step: Any) -> list[str]:
    names = [step.next]
    for attr in ("on_event", "on_timeout", "default", "on_none", "on_max"):
        names.append(getattr(step, attr, None))
    names += [c.next for c in getattr(step, "cases", [])]
    return [n for n in names if n]


class Signals(_Strict):
    """How an event tells a product interest: page paths and words per product."""

    paths: dict[str, list[str]] = {}
    words: dict[str, list[str]] = {}
    problem_words: list[str] = []
