"""What each kind of journey step does. Returns the next step id, ``"park"`` (waiting) or
``("end", reason)``."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from bestnext.clock import as_utc
from bestnext.journeys import ports, store
from bestnext.journeys.bankcal import load_bank_calendar
from bestnext.journeys.model import (
    Attach,
    Branch,
    Condition,
    Count,
    Debounce,
    Decide,
    End,
    Journey,
    OpenCase,
    ResolveCases,
    Send,
    Step,
    UpdateTraits,
    Wait,
    WaitEvent,
    holds,
    parse_duration,
)
from bestnext.journeys.pressure import fits
from bestnext.journeys.store import Instance
from bestnext.journeys.texts import fill, spoken, tidy
from bestnext.journeys.variables import template_vars

if TYPE_CHECKING:
    from bestnext.journeys.engine import JourneyEngine

Outcome = str | None | tuple[str, str]


class StepRunner:
    def __init__(self, engine: JourneyEngine, config_dir: Path) -> None:
        self.engine, self.config_dir = engine, config_dir
        self._assignees: dict[str, Any] | None = None
        self._memo: dict[str, dict[str, Any]] = {}
        self._people: dict[str, dict[str, Any]] = {}
        self.calendar = load_bank_calendar(config_dir)

    @property
    def now(self) -> datetime:
        return self.engine.clock.now()

    def profile(self, conn: Connection, person_id: str) -> dict[str, Any]:
        """The person's profile facts, read once per event or timer (``forget`` clears)."""
        if person_id not in self._memo:
            self._memo[person_id] = ports.profile_facts(conn, person_id)
        return self._memo[person_id]

    def forget(self) -> None:
        self._memo.clear()
        self._people.clear()

    def person(self, conn: Connection, person_id: str) -> dict[str, Any]:
        """Language, branch and own data from the person's events, read once per event or timer."""
        if person_id not in self._people:
            self._people[person_id] = ports.person_context(conn, person_id)
        return self._people[person_id]

    def facts_for(self, conn: Connection, person_id: str, conditions: list[Condition],
                  product: Any = None) -> dict[str, Any]:
        """Profile and state facts, read only when ``conditions`` look at them (``product``: the
        instance's, for ``state.offered_this_week``)."""
        fields = [c.field for c in conditions]
        facts: dict[str, Any] = {}
        if any(f.startswith("profile.") for f in fields):
            facts |= self.profile(conn, person_id)
        if any(f.startswith("state.") for f in fields):
            facts |= self.state(conn, person_id, self.now, product)
        return facts

    def state(self, conn: Connection, person_id: str, now: datetime, product: Any = None) -> dict[str, Any]:
        deadline = self.calendar.deadline(now)
        return {"state.offered_this_week": bool(product) and store.offered_since(
                    conn, person_id, str(product), now - timedelta(days=7)),
                "state.open_case": ports.has_open_case(conn, person_id),
                "state.assisted_scheduled": store.assisted_between(conn, person_id, now, deadline) is not None,
                "state.call_center_open": self.calendar.is_open("call_center", now),
                "state.may_market": ports.may_contact(conn, person_id, "marketing", "email", now, False)}

    def execute(self, conn: Connection, journey: Journey, inst: Instance, step: Step,
                facts: dict[str, Any]) -> Outcome:
        self.engine.log(inst.id, step.id, step.do)
        handler = getattr(self, f"_{step.do}")
        return handler(conn, journey, inst, step, facts)  # type: ignore[no-any-return]

    def _wait(self, conn: Connection, _j: Journey, inst: Instance, step: Wait, _f: dict[str, Any]) -> Outcome:
        base = self.now
        if step.until_var and inst.vars.get(step.until_var):
            base = max(base, as_utc(datetime.fromisoformat(str(inst.vars[step.until_var]))))
        due = base + parse_duration(step.for_) if step.for_ else base
        if step.until_open:
            due = self.calendar.next_open(step.until_open, due)
        self.engine.park_until(conn, inst, step.id, due)
        return "park"

    def _debounce(self, conn: Connection, _j: Journey, inst: Instance, step: Debounce,
                  _f: dict[str, Any]) -> Outcome:
        self.engine.park_until(conn, inst, step.id, self.now + parse_duration(step.quiet), debounce=True)
        return "park"

    def _wait_event(self, conn: Connection, _j: Journey, inst: Instance, step: WaitEvent,
                    _f: dict[str, Any]) -> Outcome:
        start = self.now
        if step.after_contact and inst.vars.get("last_due"):
            start = max(start, as_utc(datetime.fromisoformat(str(inst.vars["last_due"]))))
        self.engine.park_until(conn, inst, step.id, start + parse_duration(step.timeout), event=step.event)
        return "park"

    def _branch(self, conn: Connection, _j: Journey, inst: Instance, step: Branch, facts: dict[str, Any]) -> Outcome:
        full = {**facts, **self.facts_for(conn, inst.person_id, [c for case in step.cases for c in case.when],
                                          inst.vars.get("product"))}
        for case in step.cases:
            if holds(case.when, full):
                return case.next
        return step.default

    def _count(self, _c: Connection, _j: Journey, inst: Instance, step: Count, _f: dict[str, Any]) -> Outcome:
        inst.vars[step.var] = int(inst.vars.get(step.var, 0)) + 1
        return step.on_max if inst.vars[step.var] > step.max else step.next

    def _end(self, _c: Connection, _j: Journey, _i: Instance, step: End, _f: dict[str, Any]) -> Outcome:
        return ("end", step.reason)

    def _update_traits(self, conn: Connection, _j: Journey, inst: Instance, step: UpdateTraits,
                       _f: dict[str, Any]) -> Outcome:
        """Write traits on the person's profile: an ``identify`` on their timeline (source journeys)."""
        n = int(inst.vars.get("trait_updates", 0))
        inst.vars["trait_updates"] = n + 1
        ports.record_traits(conn, inst.person_id, dict(step.traits), f"{inst.id}:{step.id}:{n}", self.now)
        return step.next

    def _attach(self, conn: Connection, _j: Journey, inst: Instance, step: Attach, _f: dict[str, Any]) -> Outcome:
        found = store.assisted_between(conn, inst.person_id, self.now, self.calendar.deadline(self.now))
        if found is not None:
            store.attach_basis(conn, str(found["id"]), list(inst.vars.get("based_on", [])))
            inst.vars["answered_by"] = str(found["id"])
        return step.next

    def _resolve_cases(self, conn: Connection, _j: Journey, inst: Instance, step: ResolveCases,
                       _f: dict[str, Any]) -> Outcome:
        ports.resolve_cases(conn, inst.person_id, self.now)
        return step.next

    def _open_case(self, conn: Connection, _j: Journey, inst: Instance, step: OpenCase,
                   _f: dict[str, Any]) -> Outcome:
        inst.vars["case_id"] = ports.open_case(conn, inst.person_id, step.type, self.now,
                                               tuple(inst.vars.get("based_on", [])),
                                               str(uuid.uuid5(uuid.NAMESPACE_URL, f"{inst.id}:{step.id}")),
                                               self.config_dir)
        return step.next

    def _decide(self, conn: Connection, _j: Journey, inst: Instance, step: Decide, _f: dict[str, Any]) -> Outcome:
        channel = self._resolve(step.channel, inst, conn) if step.channel else None
        at = self.now
        if step.at == "next_allowed" and channel:
            found = self._next_moment(conn, inst.person_id, channel, step.purpose, None)
            if found is None:
                return step.on_none
            at = found
        behavioural = ports.is_behavioural(str(inst.vars.get("trigger") or ""))
        if step.purpose == "marketing" and not ports.may_contact(
                conn, inst.person_id, "marketing", channel or "email", at, behavioural):
            return step.on_none
        # interests are behavioural: they count only with the person's profiling consent
        interests = (self.profile(conn, inst.person_id).get("profile.interests") or []) if ports.may_contact(
            conn, inst.person_id, "marketing", channel or "email", at, True) else []
        products = list(dict.fromkeys([p for p in [inst.vars.get("product"), *interests] if p]))
        offer = ports.decide(conn, inst.person_id, at, channel=channel, purpose=step.purpose,
                             reason=step.reason or str(inst.vars.get("trigger") or "journey"),
                             based_on=tuple(inst.vars.get("based_on", [])),
                             variables=self._template_vars(conn, inst), products=products,
                             language=self.person(conn, inst.person_id)["language"],
                             signalled_only=step.signalled_only)
        if offer is None:
            return step.on_none
        inst.vars[step.store] = {"action": offer.action, "purpose": offer.purpose, "product": offer.product,
                                 "offer": offer.offer, "channel": offer.channel, "text": offer.text,
                                 "valid_until": offer.valid_until, "decision_id": offer.decision_id}
        if step.remember_as:
            inst.vars[step.remember_as] = at.isoformat()
        return step.next

    def _send(self, conn: Connection, journey: Journey, inst: Instance, step: Send, _f: dict[str, Any]) -> Outcome:
        decided = inst.vars.get(step.decision or "", {}) if step.decision else {}
        channel = self._resolve(step.channel, inst, conn)
        purpose = step.purpose or decided.get("purpose") or "service"
        action = step.action or decided.get("action")
        if not action or channel not in ports.CHANNELS:
            return step.next
        due = self._due(conn, inst, step, channel, purpose, action)
        if due is None or (purpose == "marketing" and not self._fits_budget(conn, inst.person_id, due)):
            self.engine.log(inst.id, step.id, "blocked", {"channel": channel})
            inst.vars["last_send"] = "blocked"
            return step.next
        inst.vars["last_send"] = "sent"
        product = step.product or decided.get("product") or inst.vars.get("product")
        offer, told, generic = step.offer or decided.get("offer"), "", not decided.get("product")
        if offer and not step.offer:
            of_product, told = ports.offer_info(conn, self.config_dir, offer, self.person(conn, inst.person_id)["language"])
            if of_product not in (None, product):
                offer = None  # an incentive only goes with the product it belongs to, and its text says none
                decided = {**decided, "offer": None, "product": product, "render": True}
        text = self._text(conn, inst, step, decided, due, channel)
        if offer and generic and told and told not in text:
            offer = None  # a generic contact (no product of its own) records the incentive its text tells
        action_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{inst.id}:{step.id}:{inst.vars.get('sends', 0)}"))
        inst.vars["sends"] = int(inst.vars.get("sends", 0)) + 1
        based_on = tuple(dict.fromkeys(inst.vars.get("based_on", [])))
        assignee = self._assignee(conn, channel, step, inst)
        data = {k: v for k, v in (("branch", assignee if channel == "branch" else None),
                                  ("valid_until", decided.get("valid_until")),
                                  ("decision_id", decided.get("decision_id") if action == decided.get("action")
                                   else None)) if v}
        ports.enqueue(conn, action_id=action_id, person_id=inst.person_id, channel=channel, purpose=purpose,
                      action=action, due_at=due, product=product, offer=offer, journey=journey.id,
                      based_on=based_on, assignee=assignee, text=text, now=self.now, data=data)
        store.add_contact(conn, {"id": action_id, "instance_id": inst.id, "journey_id": journey.id,
                                 "person_id": inst.person_id, "channel": channel, "purpose": purpose,
                                 "action": action, "product": product, "due_at": due, "based_on": list(based_on)})
        self._remember(inst, step, due, channel)
        return step.next

    @staticmethod
    def _remember(inst: Instance, step: Send, due: datetime, channel: str) -> None:
        """What later steps read about this contact: its time, a flag, the last contact's time."""
        if step.remember_as:
            inst.vars[step.remember_as] = due.isoformat()
        if step.mark:
            inst.vars[step.mark] = True
        inst.vars["last_due"] = due.isoformat()
        inst.vars["last_channel"] = channel

    def _text(self, conn: Connection, inst: Instance, step: Send, decided: dict[str, Any], due: datetime,
              channel: str) -> str:
        """The step's own text in the person's language (else Italian), filled in; else the decided
        treatment's, rendered again for this channel when it was decided for another one."""
        lang = self.person(conn, inst.person_id)["language"]
        if step.text:
            teaser = {"it": " con una bella sorpresa", "en": " with a nice surprise"} if decided.get("offer") else {}
            variables = self._template_vars(conn, inst) | {"when": spoken(due, self.now, lang),
                                                           "offer_teaser": teaser.get(lang, "")}
            return tidy(fill(step.text.get(lang) or step.text.get("it") or "", variables))
        if decided.get("channel") not in (None, channel) or decided.get("render"):
            again = ports.render_for(conn, self.config_dir, decided, channel, self._template_vars(conn, inst), lang)
            if again:
                return tidy(again)
        return tidy(str(decided.get("text") or ""))

    def _fits_budget(self, conn: Connection, person_id: str, due: datetime) -> bool:
        limit, window = ports.marketing_budget(self.config_dir)
        return fits(due, store.marketing_times(conn, person_id, due - window, due + window), limit, window)

    def _due(self, conn: Connection, inst: Instance, step: Send, channel: str, purpose: str,
             action: str) -> datetime | None:
        if step.at == "now":
            return self.now
        if step.at == "call_at" and inst.vars.get("call_at"):
            return max(self.now, as_utc(datetime.fromisoformat(str(inst.vars["call_at"]))))
        return self._next_moment(conn, inst.person_id, channel, purpose, action)

    def _next_moment(self, conn: Connection, person_id: str, channel: str, purpose: str,
                     action: str | None) -> datetime | None:
        """The first moment the contact policy allows and, for a call, the call center is open."""
        at: datetime | None = self.now
        for _ in range(8):
            assert at is not None
            at = ports.next_allowed(conn, person_id, channel, purpose, at, action, self.config_dir)
            if at is None or channel != "call_center":
                return at
            opens = self.calendar.next_open("call_center", at)
            if opens == at:
                return at
            at = opens
        return None

    def _resolve(self, value: str, inst: Instance, conn: Connection | None = None) -> str:
        """A channel: literal, ``{vars.x}`` / ``{decision.channel}``, with ``|default``; the default
        ``reachable`` is email, else SMS, by the identifiers the person has (also instead of a
        preferred channel the person has no address for)."""
        fallback = ""
        if value.startswith("{") and value.endswith("}"):
            expr, _, fallback = value[1:-1].partition("|")
            path = expr.split(".")
            found: Any = inst.vars if path[0] == "vars" else inst.vars.get(path[0], {})
            for part in path[1:]:
                found = found.get(part) if isinstance(found, dict) else None
            value = str(found or "")
        value = ports.CHANNEL_ALIASES.get(value, value)
        if fallback == "reachable" and conn is not None:
            # the preferred channel if the person can be reached there, else email, else SMS
            types = self.profile(conn, inst.person_id).get("profile.id_types") or []
            needs = {"email": "email", "sms": "phone", "call_center": "phone"}.get(value)
            if value not in ports.CHANNELS or (needs is not None and needs not in types):
                value = "email" if "email" in types else "sms" if "phone" in types else ""
        elif value not in ports.CHANNELS:
            value = fallback
        return value

    def _assignee(self, conn: Connection, channel: str, step: Send, inst: Instance) -> str | None:
        """The call-center queue, or the branch whose advisor is briefed (channels resolve people)."""
        if step.assignee:
            return step.assignee
        if self._assignees is None:
            self._assignees = ports.assignees(self.config_dir)
        if channel == "call_center":
            return str(self._assignees["queue"])
        if channel == "branch":
            branches = self._assignees["branches"]
            found = inst.vars.get("branch") or ports.home_branch(conn, inst.person_id)
            return str(found or next(iter(branches), "")) or None
        return None

    def _template_vars(self, conn: Connection, inst: Instance) -> dict[str, Any]:
        """Variables of journey texts and treatments (``journeys.variables``)."""
        if self._assignees is None:
            self._assignees = ports.assignees(self.config_dir)
        return template_vars(inst, self.profile(conn, inst.person_id), self.person(conn, inst.person_id),
                             self._assignees, self.config_dir, self.now, self.calendar)
