"""Runs journey instances: entry on a matching event, steps until a wait, resume on an event or a
timer. Every step is written in the transaction of the event or timer that caused it, so a
restart resumes exactly where the instance was."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Connection
from sqlalchemy.exc import InterfaceError, OperationalError

from bestnext.clock import Clock, as_utc
from bestnext.eventlog.model import LoggedEvent
from bestnext.eventlog.store import read_after
from bestnext.journeys import store
from bestnext.journeys.config import load_journeys, load_signals
from bestnext.journeys.facts import event_facts, var_facts
from bestnext.journeys.model import Debounce, Journey, Trigger, WaitEvent, holds, parse_duration
from bestnext.journeys.steps import StepRunner
from bestnext.journeys.store import Instance
from bestnext.timers import store as timers
from bestnext.timers.model import Timer

log = structlog.get_logger(__name__)
WAKE = "journey.wake"
MAX_STEPS = 64


def trigger_matches(trigger: Trigger, facts: dict[str, Any]) -> bool:
    if trigger.event and facts.get("event.name") != trigger.event:
        return False
    if trigger.type and facts.get("event.type") != trigger.type:
        return False
    return holds(trigger.when, facts)


class JourneyEngine:
    """Journeys of one bank configuration, on one clock."""

    def __init__(self, config_dir: Path, clock: Clock, wake: Callable[[], None] | None = None) -> None:
        self.config_dir, self.clock = config_dir, clock
        self.journeys = {j.id: j for j in load_journeys(config_dir)}
        self.signals = load_signals(config_dir)
        self.steps = StepRunner(self, config_dir)
        self.wake = wake or (lambda: None)
        self.steps_run = 0
        self.failures: list[tuple[str, str]] = []
        self.awaited = _awaited(self.journeys.values())
        self._log: list[dict[str, Any]] = []

    # -- events -------------------------------------------------------------------------------
    def log(self, instance_id: str, step: str, kind: str, outcome: dict[str, Any] | None = None) -> None:
        """Record a step; written with the other steps of this event or timer, in its transaction."""
        self._log.append(store.step_row(instance_id, step, kind, self.clock.now(), outcome))

    def on_event(self, conn: Connection, event: LoggedEvent) -> None:
        self._log.clear()
        self._on_event(conn, event)
        store.log_steps(conn, self._log)
        self._log.clear()

    def _on_event(self, conn: Connection, event: LoggedEvent) -> None:
        if event.person_id is None:
            return
        self.steps.forget()
        facts = event_facts(event, self.signals)
        entering = [j for j in self.journeys.values()
                    if any(self._entry_matches(conn, t, event.person_id, facts) for t in j.entry)]
        if not entering and facts["event.name"] not in self.awaited and "*" not in self.awaited:
            return  # neither starts a journey nor is awaited by one: nothing to read
        paused = store.paused_ids(conn)
        entering = [j for j in entering if j.id not in paused]  # a paused journey takes nobody in
        none_active = _none_active(conn)
        active = [] if none_active is not None and event.person_id in none_active \
            else store.of_person(conn, event.person_id)
        for inst in active:
            self._advance_on_event(conn, inst, event, facts, inst.journey_id in paused)
        for journey in entering:
            self._enter(conn, journey, event, facts, active)

    def _entry_matches(self, conn: Connection, trigger: Trigger, person_id: str, facts: dict[str, Any]) -> bool:
        if not trigger_matches(trigger, facts):
            return False
        return not trigger.segment or holds(trigger.segment, {**facts, **self.steps.facts_for(
            conn, person_id, trigger.segment)})

    def _advance_on_event(self, conn: Connection, inst: Instance, event: LoggedEvent,
                          facts: dict[str, Any], paused: bool = False) -> None:
        journey = self.journeys.get(inst.journey_id)
        if inst.status != "active":
            return
        if journey is None or not journey.has_step(inst.step):
            self.finish(conn, inst, "journey_changed")  # a new version without this step
            return
        for kind, triggers in (("goal", journey.goals), ("exit", journey.exits)):
            if any(trigger_matches(t, facts) for t in triggers):
                self.finish(conn, inst, kind, event.message_id)
                return
        if inst.waiting_event and inst.step and inst.waiting_event == facts.get("event.name"):
            step = journey.step(inst.step)
            if isinstance(step, WaitEvent) and holds(step.when, facts):
                if paused:
                    self.hold(conn, inst, {"event_seq": event.seq})
                    return
                self._take_event(conn, journey, inst, step, event, facts)

    def _take_event(self, conn: Connection, journey: Journey, inst: Instance, step: WaitEvent,
                    event: LoggedEvent, facts: dict[str, Any]) -> None:
        inst.vars.setdefault("based_on", []).append(event.message_id)
        inst.waiting_event, inst.wait_until = None, None
        inst.vars["wait_token"] = str(uuid.uuid4())
        self.log(inst.id, step.id, "event", {"event": facts["event.name"]})
        self.run(conn, journey, inst, step.on_event, facts)

    def hold(self, conn: Connection, inst: Instance, what: dict[str, Any]) -> None:
        """Keep the step that fell due while the journey is paused; the first one wins (it moves
        the instance on at resume, so a later one would find the step already left)."""
        if "held" in inst.vars:
            return
        inst.vars["held"] = what
        self.log(inst.id, inst.step or "-", "held", what)
        store.save(conn, inst, self.clock.now())

    def _enter(self, conn: Connection, journey: Journey, event: LoggedEvent, facts: dict[str, Any],
               active: list[Instance]) -> None:
        assert event.person_id is not None
        now = self.clock.now()
        same = [i for i in active if i.journey_id == journey.id and i.status == "active"]
        if same:
            inst = same[0]
            current = journey.step(str(inst.step)) if journey.has_step(inst.step) else None
            if isinstance(current, Debounce):
                inst.vars.setdefault("based_on", []).append(event.message_id)
                self._remember_signal(inst, facts)
                self.park_until(conn, inst, current.id, now + parse_duration(current.quiet), debounce=True)
            return
        if not self._may_reenter(conn, journey, event.person_id, now):
            return
        if journey.profile and not holds(
                journey.profile, {**facts, **self.steps.facts_for(conn, event.person_id, journey.profile)}):
            return
        inst = Instance(id=str(uuid.uuid4()), journey_id=journey.id, version=journey.version,
                        person_id=event.person_id, status="active", step=journey.steps[0].id,
                        vars={"based_on": [event.message_id], "trigger": facts.get("event.name"),
                              "touchpoint": facts.get("event.touchpoint")})
        self._remember_signal(inst, facts)
        store.insert(conn, inst, now, event.message_id)
        none_active = _none_active(conn)
        if none_active is not None:
            none_active.discard(event.person_id)
        self.run(conn, journey, inst, journey.steps[0].id, facts)

    @staticmethod
    def _remember_signal(inst: Instance, facts: dict[str, Any]) -> None:
        for key, name in (("signal.product", "product"), ("event.properties.preferred_channel", "preferred"),
                          ("event.properties.branch", "branch")):
            if facts.get(key):
                inst.vars[name] = facts[key]
        if facts.get("signal.problem"):
            inst.vars["problem"] = True
        if facts.get("event.properties.decision_id") and facts.get("event.properties.action"):
            # an answer to a proposed action (the 360's NBA panel): a send step may follow it up
            inst.vars["answered"] = {k: facts.get(f"event.properties.{k}") for k in (
                "action", "purpose", "product", "offer", "decision_id")}

    def _may_reenter(self, conn: Connection, journey: Journey, person_id: str, now: datetime) -> bool:
        if journey.reentry.mode == "always":
            return True
        last = store.last_entry(conn, journey.id, person_id)
        if last is None:
            return True
        if journey.reentry.mode == "never":
            return False
        return as_utc(last) + parse_duration(journey.reentry.after) <= now

    # -- timers -------------------------------------------------------------------------------
    def on_timer(self, conn: Connection, timer: Timer) -> None:
        self._log.clear()
        self._on_timer(conn, timer)
        store.log_steps(conn, self._log)
        self._log.clear()

    def _on_timer(self, conn: Connection, timer: Timer) -> None:
        self.steps.forget()
        inst = store.get(conn, str(timer.payload["instance"]))
        if inst is None or inst.status != "active" or inst.step != timer.payload.get("step"):
            return
        if inst.vars.get("wait_token") != timer.payload.get("token"):
            return
        journey = self.journeys.get(inst.journey_id)
        if journey is None or not journey.has_step(inst.step):
            self.finish(conn, inst, "journey_changed")
            return
        step = journey.step(str(inst.step))
        if journey.id in store.paused_ids(conn):
            self.hold(conn, inst, {"timer": True})
            return
        if "held" in inst.vars and not timer.payload.get("held"):
            return  # the step held during the pause goes first; resume scheduled it
        held = inst.vars.pop("held", None) if timer.payload.get("held") else None
        if held and held.get("event_seq") and isinstance(step, WaitEvent):
            event = read_after(conn, int(held["event_seq"]) - 1, 1)
            if event:
                self._take_event(conn, journey, inst, step, event[0], event_facts(event[0], self.signals))
                return
        inst.waiting_event, inst.wait_until = None, None
        self.log(inst.id, step.id, "timer")
        target = getattr(step, "on_timeout", None) or journey.after(step.id)
        self.run(conn, journey, inst, target, {})

    def park_until(self, conn: Connection, inst: Instance, step_id: str, due: datetime, *,
                   debounce: bool = False, event: str | None = None) -> None:
        token = str(uuid.uuid4())
        inst.vars["wait_token"] = token
        inst.step, inst.wait_until, inst.waiting_event = step_id, due, event
        payload = {"instance": inst.id, "step": step_id, "token": token}
        timers.schedule(conn, WAKE, due, payload, now=self.clock.now(),  # a fresh token: no key needed
                        person_id=inst.person_id)  # erased with the person
        store.save(conn, inst, self.clock.now())
        self.wake()

    # -- running ------------------------------------------------------------------------------
    def run(self, conn: Connection, journey: Journey, inst: Instance, step_id: str | None,
            facts: dict[str, Any]) -> None:
        """Execute steps from ``step_id`` until one waits or the journey ends."""
        for _ in range(MAX_STEPS):
            if step_id is None:
                self.finish(conn, inst, "completed")
                return
            step = journey.step(step_id)
            inst.step = step_id
            self.steps_run += 1
            all_facts = {**facts, **var_facts(inst.vars)}
            outcome = self.steps.execute(conn, journey, inst, step, all_facts)
            if outcome == "park":
                return
            if isinstance(outcome, tuple):
                self.finish(conn, inst, outcome[1])
                return
            step_id = outcome or journey.after(step_id)
        self.finish(conn, inst, "too_many_steps")

    def finish(self, conn: Connection, inst: Instance, reason: str, message_id: str | None = None) -> None:
        inst.status = "completed" if reason in ("completed", "done", "goal") else "exited"
        inst.vars.pop("wait_token", None)
        inst.waiting_event = None
        self.log(inst.id, inst.step or "-", "end", {"reason": reason, "message": message_id})
        store.save(conn, inst, self.clock.now(), end_reason=reason)


_NONE_ACTIVE = "bestnext.journeys.none_active"


def prefetch(conn: Connection, person_ids: set[str]) -> None:
    """Note, in one query, which persons of a batch have no active instance: their events skip
    reading instances until one enters a journey, in this transaction of ``conn`` only."""
    conn.info[_NONE_ACTIVE] = (conn.get_transaction(), person_ids - store.with_active(conn, person_ids))


def forget_batch(conn: Connection) -> None:
    conn.info.pop(_NONE_ACTIVE, None)


def _none_active(conn: Connection) -> set[str] | None:
    noted = conn.info.get(_NONE_ACTIVE)
    if noted is None or noted[0] is None or noted[0] is not conn.get_transaction():
        return None
    return noted[1]  # type: ignore[no-any-return]


def _awaited(journeys: Any) -> set[str]:
    """Event names that can advance or end a running instance (waits, goals, exits); ``*`` when
    a trigger names only a message type."""
    names: set[str] = set()
    for journey in journeys:
        for trigger in [*journey.goals, *journey.exits]:
            names.add(trigger.event or trigger.type or "*")
        names.update(step.event for step in journey.steps if isinstance(step, WaitEvent))
    return names


class JourneysProcessor:
    """The last processor of the pipeline: events advance and start journeys at once."""

    name = "journeys"

    def __init__(self, engine: JourneyEngine) -> None:
        self.engine = engine

    def handle(self, conn: Connection, batch: Any) -> None:
        """Each event in its own savepoint: one that fails (a bug, a bad configuration) is logged
        and skipped, so it cannot hold every other person's journeys back."""
        prefetch(conn, {e.person_id for e in batch if e.person_id is not None})
        try:
            for event in batch:
                self._one(conn, event)
        finally:
            forget_batch(conn)

    def _one(self, conn: Connection, event: LoggedEvent) -> None:
        try:
            with conn.begin_nested():
                self.engine.on_event(conn, event)
        except (OperationalError, InterfaceError):
            raise  # the database, not the event: the whole batch is retried
        except Exception as exc:  # noqa: BLE001 - isolated, logged, counted
            self.engine.failures.append((event.message_id, f"{type(exc).__name__}: {exc}"[:300]))
            log.exception("journey_event_failed", seq=event.seq, message_id=event.message_id)
