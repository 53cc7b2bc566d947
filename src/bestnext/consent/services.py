"""Consent use cases: record statements, load a person's state, decide a use.

No cache: every call reads the ledger, so a change takes effect on the next decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from bestnext.access import audit
from bestnext.access.model import Principal
from bestnext.clock import Clock
from bestnext.consent import hooks, policy, store
from bestnext.consent.model import (
    ConsentEntry,
    ConsentState,
    DataCategory,
    Decision,
    Purpose,
    Source,
    Use,
    parse_changes,
)
from bestnext.errors import InvalidInput
from bestnext.privacy import subjects

MARKETING_PURPOSES = frozenset({Purpose.OWN_MARKETING, Purpose.THIRD_PARTY_MARKETING,
                                Purpose.TRANSFER_TO_THIRD_PARTIES, Purpose.SATISFACTION_SURVEY,
                                Purpose.PROFILING, Purpose.PERSONAL_DATA})


def state(conn: Connection, person_id: str) -> ConsentState:
    """The person's full consent history (current values via ``granted``)."""
    return ConsentState.of(person_id, store.history(conn, person_id))


def states(conn: Connection, person_ids: Iterable[str]) -> dict[str, ConsentState]:
    """:func:`state` of several people at once (few queries; the dispatcher's batched gate)."""
    return {p: ConsentState.of(p, h) for p, h in store.histories(conn, list(person_ids)).items()}


def record(conn: Connection, person_id: str, changes: Mapping[Purpose, bool] | Mapping[str, bool], source: Source,
           at: datetime, *, legal_version: str | None = None, recorded_at: datetime | None = None,
           event_seq: int | None = None) -> list[ConsentEntry]:
    """Append the stated purposes to the ledger; tell listeners about withdrawals.

    Used by the consent processor, ``POST /v1/consents``, the console, e-mail one-click
    unsubscribe and SMS STOP. Runs in the caller's transaction.
    """
    before = state(conn, person_id)
    entries = [ConsentEntry(Purpose(p), bool(g), source, at, legal_version) for p, g in changes.items()]
    store.append(conn, person_id, entries, recorded_at or at, event_seq)
    gone = frozenset(e.purpose for e in entries
                     if not e.granted and before.granted(e.purpose) and e.purpose in MARKETING_PURPOSES)
    if gone:
        hooks.withdrawn(conn, person_id, gone, at)
    return entries


def may(conn: Connection, person_id: str, purpose_of_use: Use | str,
        data_categories: Iterable[DataCategory | str], channel: str | None, at: datetime | None) -> Decision:
    """Load the person's state and ask :func:`bestnext.consent.policy.may`."""
    return policy.may(state(conn, person_id), purpose_of_use, data_categories, channel, at)


def show(conn: Connection, person_id: str) -> dict[str, Any]:
    """Current state and full history, as JSON-ready values."""
    current = state(conn, person_id)
    return {"person_id": person_id, "current": current.current(),
            "history": [e.public() for e in current.history]}


def show_subject(engine: Engine, clock: Clock, principal: Principal, id_type: str, value: str,
                 why: str | None) -> dict[str, Any]:
    """Current state and history of the person named ``id_type:value`` (the read is audited)."""
    with engine.begin() as conn:
        person_id = subjects.resolve(conn, id_type, value)
        audit.record(conn, principal, "consent.read", person_id, why, clock.now())
        return show(conn, person_id)


def record_subject(engine: Engine, clock: Clock, principal: Principal, id_type: str, value: str,
                   changes: Mapping[str, bool], source: Source, at: datetime | None,
                   legal_version: str | None) -> dict[str, Any]:
    """Record a statement made through the API or the console (audited)."""
    parsed = parse_changes(changes)
    unknown = sorted(set(changes) - {p.value for p in parsed})
    if unknown or not parsed:
        raise InvalidInput("purposes must map known purposes to true/false.",
                           errors=[{"field": f"purposes.{k}", "message": "unknown purpose or not a boolean"}
                                   for k in unknown])
    now = clock.now()
    with engine.begin() as conn:
        person_id = subjects.resolve(conn, id_type, value)
        record(conn, person_id, parsed, source, at or now, legal_version=legal_version, recorded_at=now)
        audit.record(conn, principal, "consent.write", person_id, f"source={source.touchpoint}", now)
        return show(conn, person_id)


def may_subject(engine: Engine, clock: Clock, id_type: str, value: str, purpose_of_use: str,
                data_categories: Iterable[str], channel: str | None) -> Decision:
    """Ask the policy about the person named ``id_type:value`` now."""
    try:
        use, categories = Use(purpose_of_use), [DataCategory(c) for c in data_categories]
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    with engine.connect() as conn:
        person_id = subjects.resolve(conn, id_type, value)
        return may(conn, person_id, use, categories, channel, clock.now())
