"""Named queries of the decisions context."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select, update

from bestnext.db import insert_ignore
from bestnext.decisions.contact_policy import Contact, ContactPolicyConfig, ContactState
from bestnext.decisions.tables import (
    contact_log,
    contact_marks,
    decision_outcomes,
    decisions,
    offer_grants,
    own_requests,
    service_cases,
)

_INSERT_DECISION = decisions.insert()


def insert_decision(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(_INSERT_DECISION, row)


def insert_decisions(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Log decisions (rows of the decision log) in one statement."""
    conn.execute(_INSERT_DECISION, rows)


def get_decision(conn: Connection, decision_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(decisions).where(decisions.c.id == decision_id)).first()
    return dict(row._mapping) if row else None


def insert_outcome(conn: Connection, row: dict[str, Any]) -> bool:
    """Record an outcome once per (decision, action, outcome); False when already there."""
    return insert_ignore(conn, decision_outcomes, [row], ["decision_id", "action_id", "outcome"]) == 1


def outcomes_of(conn: Connection, decision_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(decision_outcomes).where(decision_outcomes.c.decision_id == decision_id)
                        .order_by(decision_outcomes.c.id))
    return [dict(r._mapping) for r in rows]


def offer_usage(conn: Connection) -> dict[str, int]:
    """How many times each offer was accepted (counts against its budget)."""
    return {str(r.offer): int(r.granted) for r in conn.execute(select(offer_grants))}


def grant_offer(conn: Connection, offer: str) -> None:
    """Count one more acceptance of ``offer``."""
    done = conn.execute(update(offer_grants).where(offer_grants.c.offer == offer)
                        .values(granted=offer_grants.c.granted + 1)).rowcount
    if not done:
        insert_ignore(conn, offer_grants, [{"offer": offer, "granted": 0}], ["offer"])
        conn.execute(update(offer_grants).where(offer_grants.c.offer == offer)
                     .values(granted=offer_grants.c.granted + 1))


def record_contact(conn: Connection, *, ref: str, person_id: str, channel: str, purpose: str,
                   action_id: str | None, direction: str, at: datetime) -> bool:
    row = {"ref": ref, "person_id": person_id, "channel": channel, "purpose": purpose,
           "action_id": action_id, "direction": direction, "at": at}
    return insert_ignore(conn, contact_log, [row], ["ref"]) == 1


def add_mark(conn: Connection, *, ref: str, person_id: str, kind: str, action_id: str | None,
             at: datetime) -> bool:
    row = {"ref": ref, "person_id": person_id, "kind": kind, "action_id": action_id, "at": at}
    return insert_ignore(conn, contact_marks, [row], ["ref"]) == 1


def open_case(conn: Connection, case_id: str, person_id: str, at: datetime) -> None:
    insert_ignore(conn, service_cases, [{"case_id": case_id, "person_id": person_id, "opened_at": at,
                                         "closed_at": None}], ["case_id"])


def close_case(conn: Connection, case_id: str, at: datetime) -> None:
    conn.execute(update(service_cases).where(service_cases.c.case_id == case_id,
                                             service_cases.c.closed_at.is_(None)).values(closed_at=at))


def add_request(conn: Connection, *, message_id: str, person_id: str, kind: str, channel: str,
                at: datetime, due_at: datetime) -> None:
    insert_ignore(conn, own_requests, [{"message_id": message_id, "person_id": person_id, "kind": kind,
                                        "channel": channel, "at": at, "due_at": due_at}], ["message_id"])


def answer_requests(conn: Connection, person_id: str, at: datetime) -> int:
    """Mark the person's requests made up to ``at`` as answered by a service contact at ``at``."""
    result = conn.execute(update(own_requests).where(
        own_requests.c.person_id == person_id, own_requests.c.answered_at.is_(None),
        own_requests.c.at <= at).values(answered_at=at))
    return int(result.rowcount or 0)


def unanswered(conn: Connection, due_before: datetime) -> list[dict[str, Any]]:
    rows = conn.execute(select(own_requests).where(
        own_requests.c.answered_at.is_(None), own_requests.c.due_at <= due_before)
        .order_by(own_requests.c.due_at, own_requests.c.id))
    return [dict(r._mapping) for r in rows]


_CONTACTS = select(contact_log.c.at, contact_log.c.channel, contact_log.c.purpose, contact_log.c.action_id,
                   contact_log.c.direction).where(
    contact_log.c.person_id == bindparam("person"), contact_log.c.at > bindparam("since"),
    contact_log.c.at <= bindparam("at"))
_MARKS = select(contact_marks.c.kind, contact_marks.c.action_id, contact_marks.c.at).where(
    contact_marks.c.person_id == bindparam("person"), contact_marks.c.at > bindparam("since"),
    contact_marks.c.at <= bindparam("at"))
_CASES = select(service_cases.c.case_id).where(
    service_cases.c.person_id == bindparam("person"), service_cases.c.opened_at <= bindparam("at"),
    (service_cases.c.closed_at.is_(None)) | (service_cases.c.closed_at > bindparam("at")))


def contact_state(conn: Connection, person_id: str, at: datetime, cfg: ContactPolicyConfig) -> ContactState:
    """The person's contacts, declines, complaints and open cases that matter at ``at``."""
    since = at - timedelta(days=max(cfg.marketing_window_days, 1) + 1)
    contacts = conn.execute(_CONTACTS, {"person": person_id, "since": since, "at": at})
    marks_since = at - timedelta(days=max(cfg.decline_cool_off_days, cfg.complaint_cool_off_days) + 1)
    marks = list(conn.execute(_MARKS, {"person": person_id, "since": marks_since, "at": at}))
    cases = conn.execute(_CASES, {"person": person_id, "at": at})
    open_cases = [str(c.case_id) for c in cases] + _channel_cases(conn, person_id)
    return ContactState(
        person_id,
        tuple(Contact(r.at, r.channel, r.purpose, r.action_id, r.direction) for r in contacts),
        tuple((str(m.action_id), m.at) for m in marks if m.kind == "decline"),
        tuple(m.at for m in marks if m.kind == "complaint"),
        tuple(open_cases))


def contact_states(conn: Connection, person_ids: Iterable[str], at: datetime,
                   cfg: ContactPolicyConfig) -> dict[str, ContactState]:
    """:func:`contact_state` of several people in a few queries (the dispatcher's batched gate)."""
    ids = list(dict.fromkeys(person_ids))
    contacts: dict[str, list[Contact]] = {p: [] for p in ids}
    marks: dict[str, list[Any]] = {p: [] for p in ids}
    open_cases: dict[str, list[str]] = {p: [] for p in ids}
    since = at - timedelta(days=max(cfg.marketing_window_days, 1) + 1)
    marks_since = at - timedelta(days=max(cfg.decline_cool_off_days, cfg.complaint_cool_off_days) + 1)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for r in conn.execute(select(contact_log.c.person_id, *_CONTACTS.selected_columns).where(
                contact_log.c.person_id.in_(chunk), contact_log.c.at > since, contact_log.c.at <= at)):
            contacts[r.person_id].append(Contact(r.at, r.channel, r.purpose, r.action_id, r.direction))
        for r in conn.execute(select(contact_marks.c.person_id, *_MARKS.selected_columns).where(
                contact_marks.c.person_id.in_(chunk), contact_marks.c.at > marks_since, contact_marks.c.at <= at)):
            marks[r.person_id].append(r)
        for r in conn.execute(select(service_cases.c.person_id, service_cases.c.case_id).where(
                service_cases.c.person_id.in_(chunk), service_cases.c.opened_at <= at,
                (service_cases.c.closed_at.is_(None)) | (service_cases.c.closed_at > at))):
            open_cases[r.person_id].append(str(r.case_id))
    for person in _channel_cases_many(conn, ids):
        open_cases[person].append("channels")
    return {p: ContactState(p, tuple(contacts[p]),
                            tuple((str(m.action_id), m.at) for m in marks[p] if m.kind == "decline"),
                            tuple(m.at for m in marks[p] if m.kind == "complaint"), tuple(open_cases[p]))
            for p in ids}


def _channel_cases_many(conn: Connection, person_ids: list[str]) -> set[str]:
    try:
        from bestnext.channels import cases as channel_cases
    except ImportError:  # pragma: no cover - channels not installed
        return set()
    return channel_cases.with_open_case(conn, person_ids)


def _channel_cases(conn: Connection, person_id: str) -> list[str]:
    """Open cases of the channels context's case management (the service desk), if present."""
    try:
        from bestnext.channels import cases as channel_cases
    except ImportError:  # pragma: no cover - channels not installed
        return []
    return ["channels"] if channel_cases.has_open_case(conn, person_id) else []


def move_person(conn: Connection, from_id: str, to_id: str) -> None:
    """Rows of ``from_id`` follow the person into ``to_id`` (identity merges)."""
    for table in (decisions, contact_log, contact_marks, service_cases, own_requests):
        conn.execute(update(table).where(table.c.person_id == from_id).values(person_id=to_id))


def decisions_between(conn: Connection, person_ids: Iterable[str], start: datetime,
                      end: datetime) -> list[dict[str, Any]]:
    rows = conn.execute(select(decisions).where(and_(decisions.c.person_id.in_(list(person_ids)),
                                                     decisions.c.at >= start, decisions.c.at < end)))
    return [dict(r._mapping) for r in rows]
