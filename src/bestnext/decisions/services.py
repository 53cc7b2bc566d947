"""Use cases of decisions: decide for a person (and log it), record outcomes (and learn),
report the models, list persons at risk of being abandoned.

The catalog, the contact policy and the model bank are loaded once per process and
database (:class:`Runtime`); every outcome updates the bank and persists the changed models
in the caller's transaction.
"""

from __future__ import annotations

import threading
import uuid
import zlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import structlog
from sqlalchemy import Connection

from bestnext.calendar import BusinessCalendar
from bestnext.clock import as_utc
from bestnext.decisions import catalog_versions, ignored, reads, store
from bestnext.decisions.arbitration import PolicyInputs
from bestnext.decisions.arbitration import decide as decide_pure
from bestnext.decisions.catalog import Catalog
from bestnext.decisions.consent_use import bind
from bestnext.decisions.contact_policy import ContactPolicyConfig, load_config
from bestnext.decisions.contacts import record_contact
from bestnext.decisions.learning.bank import ModelBank
from bestnext.decisions.model import (
    REWARDS,
    ConsentCheck,
    ConsentUse,
    Decision,
    DecisionContext,
    ProfileView,
    RankedAction,
)
from bestnext.decisions.posteriors import PosteriorTable
from bestnext.errors import InvalidInput, NotFound

log = structlog.get_logger(__name__)
CONVERSION_WINDOW = timedelta(days=30)


@dataclass
class Runtime:
    """What a process keeps between decisions: configuration and the online models."""

    catalog: Catalog
    policy: ContactPolicyConfig
    bank: ModelBank = field(default_factory=ModelBank)
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    lock: threading.Lock = field(default_factory=threading.Lock)

    table: PosteriorTable | None = None
    catalog_number: int | None = None  # the active catalog version loaded (None: catalog.yaml)
    stamp: tuple[int, int] | None = None  # learning.store.models_stamp of what is loaded

    def models(self, conn: Connection) -> PosteriorTable:
        """The models as a fast posterior table: loaded from the database on first use and
        again whenever another process (a worker) has saved a model that learnt since."""
        stamp = reads.models_stamp(conn)
        if self.table is None or stamp != self.stamp:
            with self.lock:
                if self.table is None or stamp != self.stamp:
                    bank = ModelBank()
                    bank.load(conn)
                    self.bank, self.table, self.stamp = bank, PosteriorTable(bank), stamp
        assert self.table is not None
        return self.table

    def learn(self, conn: Connection, action_id: str, channel: str, features: dict[str, float],
              reward: float, profiling: bool) -> None:
        """Teach one model, persist it (caller's transaction) and refresh its dense copy."""
        table = self.models(conn)
        with self.lock:
            before = len(self.bank.models)
            self.bank.learn(action_id, channel, features, reward, profiling=profiling)
            self.bank.save(conn)
            table.refresh((action_id, channel))
            if self.stamp is not None:  # our own lesson: one more response (maybe one more model)
                self.stamp = (self.stamp[0] + len(self.bank.models) - before, self.stamp[1] + 1)


_RUNTIMES: dict[tuple[str, str], Runtime] = {}
_RUNTIMES_LOCK = threading.Lock()


def _config_dir(config_dir: Path | None) -> Path:
    return config_dir if config_dir is not None else _default_config_dir()


@lru_cache(maxsize=1)
def _default_config_dir() -> Path:
    from bestnext.settings import Settings

    return Settings().config_dir


def runtime(conn: Connection, config_dir: Path | None = None) -> Runtime:
    """The runtime of this process for the connection's database and the bank's configuration."""
    folder = _config_dir(config_dir)
    key = (str(folder), conn.engine.url.render_as_string(hide_password=True))
    found = _RUNTIMES.get(key)
    number = catalog_versions.active_number(conn)  # a new activation is noticed at the next decision
    if found is None or found.catalog_number != number:
        with _RUNTIMES_LOCK:
            found = _RUNTIMES.get(key)
            if found is None or found.catalog_number != number:
                number, catalog = catalog_versions.active_catalog(conn, folder)
                if found is None:
                    found = _RUNTIMES[key] = Runtime(catalog, load_config(folder))
                found.catalog, found.catalog_number = catalog, number
    return found


def consent_check(conn: Connection, person_id: str) -> ConsentCheck:
    """The consent policy bound to the person's ledger (read once per decision)."""
    return bind(reads.consent_state(conn, person_id))


def load_view(conn: Connection, person_id: str, at: datetime) -> ProfileView:
    """What arbitration may know about the person (the profile, read by :mod:`.reads`)."""
    return reads.profile_view(conn, person_id, at)


def decide(conn: Connection, person_id: str, context: DecisionContext, channel: str | None = None,
           n: int = 3, *, config_dir: Path | None = None) -> list[RankedAction]:
    """Rank the best next actions for ``person_id`` now and log the decision (contract function)."""
    decision_id, decision = decide_logged(conn, person_id, context, channel, n, config_dir=config_dir)
    return [replace(a, decision_id=decision_id) for a in decision.ranked]


def decide_logged(conn: Connection, person_id: str, context: DecisionContext, channel: str | None = None,
                  n: int = 3, *, config_dir: Path | None = None, view: ProfileView | None = None,
                  rng: np.random.Generator | None = None) -> tuple[str, Decision]:
    """Decide and log in the caller's transaction; returns ``(decision id, decision)``."""
    decided = prepare(conn, person_id, context, channel, n, config_dir=config_dir, view=view, rng=rng)
    log_decision(conn, decided)
    return decided.id, decided.decision


@dataclass(frozen=True)
class Decided:
    """A decision made and not yet logged (see :func:`prepare` and :func:`log_decision`)."""

    id: str
    decision: Decision
    row: dict[str, Any]


def prepare(conn: Connection, person_id: str, context: DecisionContext, channel: str | None = None,
            n: int = 3, *, config_dir: Path | None = None, view: ProfileView | None = None,
            rng: np.random.Generator | None = None) -> Decided:
    """Decide, reading only: the API decides in a read transaction and logs in a short write one."""
    if n < 1:
        raise InvalidInput("n must be at least 1")
    if context.at is None:
        raise InvalidInput("The decision context needs its time (context.at).")
    rt = runtime(conn, config_dir)
    at = as_utc(context.at)
    view = view or load_view(conn, person_id, at)
    policy = PolicyInputs(reads.contact_state(conn, person_id, at, rt.policy), rt.policy, rt.calendar,
                          reads.offer_usage(conn))
    consent = consent_check(conn, person_id)
    decision = decide_pure(view, context, rt.catalog, policy, rt.models(conn), consent=consent,
                           channel=channel, n=n, rng=rng if rng is not None else _seeded(person_id, at, context, channel))
    decision_id = str(uuid.uuid4())
    profiling = consent("profiling", ["behavioural"], context.inbound_channel, at)
    return Decided(decision_id, decision,
                   _decision_row(decision_id, person_id, at, channel, context, view, decision, profiling))


def log_decision(conn: Connection, decided: Decided) -> None:
    """Log a prepared decision (its outcomes can be recorded from then on)."""
    store.insert_decision(conn, decided.row)
    logged(decided)


def logged(decided: Decided) -> None:
    """Say that a decision was logged (ids only: no personal data)."""
    log.info("decided", decision_id=decided.id, person_id=decided.row["person_id"],
             control=decided.decision.control, actions=[a.action_id for a in decided.decision.ranked])


def _seeded(person_id: str, at: datetime, context: DecisionContext, channel: str | None) -> np.random.Generator:
    """Randomness fixed by what is decided (person, moment, reason, channel): a replay of the
    same history makes the same choices; different decisions explore independently."""
    key = f"{person_id}|{at.isoformat()}|{context.reason}|{channel}|{context.inbound_channel}"
    return np.random.default_rng(zlib.crc32(key.encode()))


def _decision_row(decision_id: str, person_id: str, at: datetime, channel: str | None,
                  context: DecisionContext, view: ProfileView, decision: Decision,
                  profiling: ConsentUse) -> dict[str, Any]:
    return {
        "id": decision_id, "person_id": person_id, "at": at, "channel": channel,
        "context": {"reason": context.reason, "inbound_channel": context.inbound_channel,
                    "language": context.language, "based_on": list(context.based_on),
                    "features": dict(view.features), "profiling": profiling.allowed},
        "catalog_version": decision.catalog_version, "control": decision.control,
        "actions": [{"action_id": a.action_id, "purpose": a.purpose, "product": a.product, "offer": a.offer,
                     "channel": a.channel, "score": a.score, "propensity": a.propensity,
                     "probability": a.probability} for a in decision.ranked],
    }


@dataclass(frozen=True)
class OutcomeRecorded:
    decision_id: str
    action_id: str
    outcome: str
    recorded: bool  # False when this outcome was already known (idempotent)
    learned: bool


def record_outcome(conn: Connection, decision_id: str, action_id: str, outcome: str, at: datetime, *,
                   config_dir: Path | None = None) -> OutcomeRecorded:
    """Record an outcome of a decided action; teach and persist the online model."""
    if outcome not in REWARDS:
        raise InvalidInput(f"unknown outcome '{outcome}'", errors=[{"field": "outcome", "message":
                                                                     f"one of {sorted(REWARDS)}"}])
    decision = store.get_decision(conn, decision_id)
    if decision is None:
        raise NotFound(f"No decision {decision_id}.")
    action = next((a for a in decision["actions"] if a["action_id"] == action_id), None)
    if action is None:
        raise NotFound(f"Action {action_id} was not proposed by decision {decision_id}.")
    at = as_utc(at)
    ctx, person_id = decision["context"], decision["person_id"]
    previous = store.outcomes_of(conn, decision_id)
    reward = REWARDS[outcome]
    if outcome == "converted" and at - as_utc(decision["at"]) > CONVERSION_WINDOW:
        reward = None
    already_learned = any(o["action_id"] == action_id and o["reward"] is not None for o in previous)
    learn = reward is not None and not already_learned and may_learn_from(conn, person_id, action["channel"], at)
    if not store.insert_outcome(conn, {"decision_id": decision_id, "action_id": action_id,
                                       "channel": action["channel"], "outcome": outcome, "offer": action["offer"],
                                       "reward": reward if learn else None, "at": at}):
        return OutcomeRecorded(decision_id, action_id, outcome, False, False)
    _policy_effects(conn, person_id, action, ctx, outcome, at, decision_id)
    if outcome == "impression":
        ignored.expect_response(conn, decision_id, action_id, at, person_id=person_id)
    if outcome == "accepted" and action["offer"]:
        store.grant_offer(conn, action["offer"])
    if learn:
        features = {**ctx.get("features", {}), f"ctx:channel={action['channel']}": 1.0}
        runtime(conn, config_dir).learn(conn, action_id, action["channel"], features, float(reward or 0.0),
                                        bool(ctx.get("profiling")))
    return OutcomeRecorded(decision_id, action_id, outcome, True, learn)


def may_learn_from(conn: Connection, person_id: str, channel: str | None, at: datetime) -> bool:
    """Whether the consent policy allows learning from this person's outcomes (``model_training``:
    personal data and profiling granted as of ``at``)."""
    from bestnext.consent import services as consent

    return bool(consent.may(conn, person_id, "model_training", ["declared"], channel, at).allowed)


def _policy_effects(conn: Connection, person_id: str, action: dict[str, Any], ctx: dict[str, Any],
                    outcome: str, at: datetime, decision_id: str) -> None:
    if outcome == "impression" and action["channel"] == ctx.get("inbound_channel"):
        # an offer presented during an inbound assisted contact counts like a sent one
        record_contact(conn, ref=f"decision:{decision_id}:{action['action_id']}", person_id=person_id,
                       channel=action["channel"], purpose=action["purpose"], at=at,
                       action_id=action["action_id"], direction="in")
    if outcome == "declined":
        store.add_mark(conn, ref=f"decline:{decision_id}:{action['action_id']}", person_id=person_id,
                       kind="decline", action_id=action["action_id"], at=at)


def decision_public(decision_id: str, person_id: str, at: datetime, decision: Decision) -> dict[str, Any]:
    """JSON-ready view of a logged decision."""
    return {"id": decision_id, "person_id": person_id, "at": at.isoformat(), "control": decision.control,
            "catalog_version": decision.catalog_version,
            "actions": [_action_public(replace(a, decision_id=decision_id)) for a in decision.ranked]}


def _plain(value: Any) -> Any:
    """``dataclasses.asdict`` for the immutable values of a decision, without its deep copies.

    >>> from bestnext.decisions.model import ConsentUse
    >>> _plain({"u": (ConsentUse("marketing", "email", True),)})["u"][0]["purpose_of_use"]
    'marketing'
    """
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None:
        return {name: _plain(getattr(value, name)) for name in fields}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _action_public(a: RankedAction) -> dict[str, Any]:
    out: dict[str, Any] = _plain(a)
    out["offer_valid_until"] = a.offer_valid_until.isoformat() if a.offer_valid_until else None
    return out


def models_report(conn: Connection) -> dict[str, Any]:
    """Per model: responses, AUC and calibration over a sliding window, drift (from the database)."""
    bank = ModelBank()
    bank.load(conn)
    return bank.monitor()


def at_risk_of_abandonment(conn: Connection, at: datetime, within: timedelta = timedelta(0)) -> list[dict[str, Any]]:
    """Persons whose own request has had no answer and whose answer is due by ``at + within``."""
    at = as_utc(at)
    return [{"person_id": r["person_id"], "request": r["message_id"], "kind": r["kind"], "channel": r["channel"],
             "requested_at": r["at"], "due_at": r["due_at"], "overdue": as_utc(r["due_at"]) <= at}
            for r in store.unanswered(conn, at + within)]


__all__ = ["Decided", "OutcomeRecorded", "Runtime", "at_risk_of_abandonment", "decide", "decide_logged",
           "decision_public", "log_decision", "logged", "may_learn_from", "models_report", "prepare", "record_outcome",
           "runtime"]
