"""The seams to other contexts (consent, contact policy, identity), in one place.

Each port imports its context lazily, so that channels works (and is tested) before, and
independently of, those contexts; when a context is absent the port says so explicitly.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import structlog
from sqlalchemy import Connection

from bestnext.channels import cases
from bestnext.channels.model import OutboxRow, Verdict
from bestnext.clock import as_utc

log = structlog.get_logger(__name__)

#: ``gate(conn, row, at) -> Verdict``: asked right before each send.
Gate = Callable[[Connection, OutboxRow, datetime], Verdict]
#: ``resolve(conn, person_id, channel) -> address | None`` (email, phone, social id, ...).
Resolver = Callable[[Connection, str, str], str | None]

_ADDRESS_TYPES = {"email": ("email",), "sms": ("phone",), "social": ("facebook_id", "instagram_id")}


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


class PolicyGate:
    """The pre-send gate of the bank configured in ``config_dir``.

    Called per row (``gate(conn, row, at)``), or for a claimed batch with :meth:`many`, which
    loads the consent states, contact states and open cases of all its people in a few
    queries and then judges each row exactly as the per-row call would.
    """

    def __init__(self, config_dir: Path | None) -> None:
        self.config_dir = config_dir

    def __call__(self, conn: Connection, row: OutboxRow, at: datetime) -> Verdict:
        return policy_gate(conn, row, at, self.config_dir)

    def many(self, conn: Connection, rows: Sequence[OutboxRow], at: datetime) -> list[Verdict]:
        people = list(dict.fromkeys(r.action.person_id for r in rows))
        consent = _module("bestnext.consent.services")
        consents = consent.states(conn, people) if consent is not None else None
        policy = _module("bestnext.decisions.contact_policy")
        if policy is None:
            with_case = cases.with_open_case(conn, people)
            return [_without_policy(r, consents, with_case, at) for r in rows]
        config = policy.load_config(self.config_dir) if self.config_dir is not None else policy.default_config()
        store = importlib.import_module("bestnext.decisions.store")
        states = store.contact_states(conn, people, as_utc(at), config)
        verdicts = []
        for r in rows:
            a = r.action
            refused = _refusal(consents[a.person_id], a.purpose, a.channel, at) if consents is not None else ()
            verdicts.append(Verdict("cancel", refused) if refused else _verdict(policy.check(
                states[a.person_id], a.person_id, a.channel, a.purpose, at, action_id=a.action, config=config)))
        return verdicts


def gate_for(config_dir: Path) -> Gate:
    """The pre-send gate of the bank configured in ``config_dir``."""
    return PolicyGate(config_dir)


def verdicts(gate: Gate, conn: Connection, rows: Sequence[OutboxRow], at: datetime) -> list[Verdict]:
    """The gate's verdict on each row: batched for :class:`PolicyGate`, else one call per row."""
    if isinstance(gate, PolicyGate):
        return gate.many(conn, rows, at)
    return [gate(conn, r, at) for r in rows]


def _without_policy(row: OutboxRow, consents: dict[str, Any] | None, with_case: set[str], at: datetime) -> Verdict:
    a = row.action
    refused = _refusal(consents[a.person_id], a.purpose, a.channel, at) if consents is not None else ()
    if refused:
        return Verdict("cancel", refused)
    if a.purpose == "marketing" and a.person_id in with_case:
        return Verdict("cancel", ("open_service_case",))
    return Verdict.send()


def _verdict(result: Any) -> Verdict:
    """The contact policy's result as a verdict: send, reschedule to its next moment, or cancel."""
    if result.allowed:
        return Verdict.send()
    found = tuple(str(r) for r in (result.reasons or ("contact_policy",)))
    next_at = getattr(result, "next_allowed_at", None)
    return Verdict("reschedule", found, next_at) if next_at else Verdict("cancel", found)


def policy_gate(conn: Connection, row: OutboxRow, at: datetime, config_dir: Path | None = None) -> Verdict:
    """Consent, open service cases and the central contact policy, asked again before sending.

    Consent withdrawn or an open case (for marketing) cancels; the contact policy reschedules
    to its ``next_allowed_at`` (quiet hours, budget) or cancels when it gives none.
    """
    a = row.action
    reasons = consent_refusal(conn, a.person_id, a.purpose, a.channel, at)
    if reasons:
        return Verdict("cancel", reasons)
    policy = _module("bestnext.decisions.contact_policy")
    if policy is None:  # without the central policy, at least service before sales
        if a.purpose == "marketing" and cases.has_open_case(conn, a.person_id):
            return Verdict("cancel", ("open_service_case",))
        return Verdict.send()
    config = policy.load_config(config_dir) if config_dir is not None else None
    return _verdict(policy.check(conn, a.person_id, a.channel, a.purpose, at, action_id=a.action, config=config))


def _refusal(state: Any, purpose: str, channel: str, at: datetime) -> tuple[str, ...]:
    """Why consent ``state`` forbids this contact (empty when allowed)."""
    consent_policy = importlib.import_module("bestnext.consent.policy")
    categories = ["request"] if purpose == "service" else ["declared"]
    decision: Any = consent_policy.may(state, purpose, categories, channel, at)
    if decision.allowed:
        return ()
    refused = [getattr(r, "code", str(r)) for r in decision.reasons if getattr(r, "granted", None) is False]
    return tuple(str(r) for r in refused) or ("consent",)


def consent_refusal(conn: Connection, person_id: str, purpose: str, channel: str, at: datetime) -> tuple[str, ...]:
    """Why consent forbids this contact (empty when allowed, or when consent is not installed)."""
    services = _module("bestnext.consent.services")
    if services is None:
        return ()
    return _refusal(services.state(conn, person_id), purpose, channel, at)


def may_track(state: Any, at: datetime) -> bool:
    """Whether consent ``state`` allows tracking how the person reads the bank's emails (opens,
    clicks): ``engagement_tracking`` in the consent policy, which is profiling."""
    consent_policy = importlib.import_module("bestnext.consent.policy")
    return bool(consent_policy.may(state, "engagement_tracking", ["behavioural"], "email", at).allowed)


def tracking_allowed(conn: Connection, rows: Sequence[OutboxRow], at: datetime) -> set[str]:
    """Ids of the email actions among ``rows`` that may carry an open pixel and tracked links
    (one consent read for the batch); none without the consent context (absent is refused)."""
    emails = [r for r in rows if r.action.channel == "email"]
    services = _module("bestnext.consent.services")
    if not emails or services is None:
        return set()
    states = services.states(conn, [r.action.person_id for r in emails])
    return {r.action.id for r in emails if may_track(states[r.action.person_id], at)}


def may_track_now(conn: Connection, person_id: str, at: datetime) -> bool:
    """:func:`may_track` for one person, read now (an open or a click arriving later: consent
    may have been withdrawn since the send)."""
    services = _module("bestnext.consent.services")
    return services is not None and may_track(services.state(conn, person_id), at)


def identity_resolver(conn: Connection, person_id: str, channel: str) -> str | None:
    """The person's address on ``channel`` from identity; push/app/web address the person id."""
    if channel in ("push", "app", "web", "post", "call_center", "branch"):
        return person_id
    identity = _module("bestnext.identity.services")
    if identity is None:
        return None
    wanted = _ADDRESS_TYPES.get(channel, ())
    for ident in identity.identities_of(conn, person_id):
        if ident.type in wanted:
            return str(ident.value)
    return None


def withdraw_marketing(conn: Connection, person_id: str, channel: str, source: str, at: datetime,
                       evidence: str) -> bool:
    """Record that ``person_id`` withdrew own-marketing consent on ``channel``; False if consent
    is not installed (the caller still logs the event that carries the request)."""
    services = _module("bestnext.consent.services")
    if services is None:
        log.warning("consent_not_installed", person_id=person_id, channel=channel)
        return False
    model = importlib.import_module("bestnext.consent.model")
    services.record(conn, person_id, {"own_marketing": False},
                    model.Source(touchpoint=source, message_id=evidence), at)
    return True


def find_person(conn: Connection, id_type: str, value: str) -> str | None:
    identity = _module("bestnext.identity.services")
    if identity is None:
        return None
    found: str | None = identity.find_person(conn, id_type, value)
    return found
