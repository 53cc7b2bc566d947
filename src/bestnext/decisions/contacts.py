"""The contact-policy read model, fed by the event log (processor ``decisions``).

From the events it keeps: contacts (sends recorded by the channels on the person's timeline,
completed calls), declines and complaints, service cases opened/closed, and the person's own
requests with the time by which the bank must answer them ("don't abandon").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Connection

from bestnext.decisions import store
from bestnext.decisions.contact_policy import ContactPolicyConfig, load_config
from bestnext.errors import NotFound
from bestnext.eventlog import LoggedEvent

log = structlog.get_logger(__name__)

# events the channels context writes on the person's timeline when it contacts them
CONTACT_EVENTS: dict[str, str] = {
    "Email Sent": "email", "SMS Sent": "sms", "Call Completed": "call_center",
    "Branch Briefing Created": "branch", "Social Reply Sent": "social", "Web Message Sent": "web",
    "In-App Message Sent": "app", "Push Sent": "push", "Letter Sent": "post",
}
DECLINED_CALL_OUTCOMES = frozenset({"declined", "not_interested"})
UNREACHED_CALL_OUTCOMES = frozenset({"not_reached", "no_answer", "wrong_number", "call_back_later", "busy"})
# what a completed call teaches the decision that proposed it (properties.decision_id)
CALL_TO_OUTCOME = {"reached": "impression", "accepted": "accepted", "declined": "declined",
                   "not_interested": "declined", "complaint": "declined"}
# the person's engagement with a decided email (tracked only with their profiling consent): an
# open is an impression (once: a send already is one), a click on its link an acceptance
ENGAGEMENT_OUTCOMES = {"Email Opened": "impression", "Email Link Clicked": "accepted"}


def record_contact(conn: Connection, *, ref: str, person_id: str, channel: str, purpose: str,
                   at: datetime, action_id: str | None = None, direction: str = "out",
                   answers: Sequence[str] = ()) -> bool:
    """Count a contact for the policy (idempotent on ``ref``); a service contact, or one based
    on the person's requests, answers their open requests."""
    added = store.record_contact(conn, ref=ref, person_id=person_id, channel=channel, purpose=purpose,
                                 action_id=action_id, direction=direction, at=at)
    if added and direction == "out" and (purpose == "service" or answers):
        store.answer_requests(conn, person_id, at)
    return added


def _contact(conn: Connection, event: LoggedEvent, person_id: str) -> None:
    props = event.properties
    channel = CONTACT_EVENTS[str(event.event)]
    if event.event == "Call Completed":
        outcome = str(props.get("outcome") or "")
        if outcome == "complaint":
            store.add_mark(conn, ref=f"complaint:{event.message_id}", person_id=person_id, kind="complaint",
                           action_id=None, at=event.occurred_at)
        if outcome in DECLINED_CALL_OUTCOMES and props.get("action"):
            store.add_mark(conn, ref=f"decline:{event.message_id}", person_id=person_id, kind="decline",
                           action_id=str(props["action"]), at=event.occurred_at)
        if outcome in UNREACHED_CALL_OUTCOMES:
            return
    _teach(conn, event)
    based_on = props.get("based_on")
    record_contact(conn, ref=f"event:{event.source_id}:{event.message_id}", person_id=person_id,
                   channel=channel, purpose=str(props.get("purpose") or "service"), at=event.occurred_at,
                   action_id=str(props["action"]) if props.get("action") else None,
                   answers=based_on if isinstance(based_on, list) else ())


def _teach(conn: Connection, event: LoggedEvent) -> None:
    """A contact (or engagement) event that carries ``properties.decision_id`` (and ``action``)
    reports its outcome to that decision: a sent message is an impression, a completed call says
    how it went, an email's open or click as :data:`ENGAGEMENT_OUTCOMES` says."""
    props = event.properties
    decision_id, action = props.get("decision_id"), props.get("action")
    if not decision_id or not action:
        return
    if event.event == "Call Completed":
        outcome = CALL_TO_OUTCOME.get(str(props.get("outcome")))
    else:
        outcome = ENGAGEMENT_OUTCOMES.get(str(event.event), "impression")
    if outcome is None:
        return
    from bestnext.decisions import services

    try:
        services.record_outcome(conn, str(decision_id), str(action), outcome, event.occurred_at)
    except NotFound:
        log.warning("outcome_for_unknown_decision", decision_id=str(decision_id), action=str(action))


def _case_id(event: LoggedEvent) -> str:
    props: dict[str, Any] = event.properties
    return str(props.get("case_id") or props.get("id") or event.message_id)


def apply_event(conn: Connection, event: LoggedEvent, cfg: ContactPolicyConfig) -> None:
    """Apply one attributed event to the read model."""
    person_id, name, at = event.person_id, event.event, event.occurred_at
    if person_id is None or event.type != "track" or name is None:
        return
    if name in CONTACT_EVENTS:
        _contact(conn, event, person_id)
    elif name in ENGAGEMENT_OUTCOMES:
        _teach(conn, event)
    elif name in cfg.requests:
        rule = cfg.requests[name]
        store.add_request(conn, message_id=f"{event.source_id}:{event.message_id}", person_id=person_id,
                          kind=rule.kind, channel=event.touchpoint, at=at,
                          due_at=at + timedelta(hours=rule.within_hours))
    elif name in cfg.complaint_events:
        store.add_mark(conn, ref=f"complaint:{event.message_id}", person_id=person_id, kind="complaint",
                       action_id=None, at=at)
    elif name in cfg.case_opened_events:
        store.open_case(conn, _case_id(event), person_id, at)
    elif name in cfg.case_closed_events:
        store.close_case(conn, _case_id(event), at)


def follow_merge(conn: Connection, survivor_id: str, absorbed_id: str) -> None:
    """Identity merge listener: the absorbed person's decisions and contacts follow the survivor."""
    store.move_person(conn, absorbed_id, survivor_id)


class ContactsProcessor:
    """Pipeline processor that keeps the contact-policy read model."""

    name = "decisions"

    def __init__(self, config_dir: Path) -> None:
        from bestnext.identity import hooks

        self.config = load_config(config_dir)
        hooks.on_merge(follow_merge)

    def handle(self, conn: Connection, batch: Sequence[LoggedEvent]) -> None:
        for event in batch:
            apply_event(conn, event, self.config)


__all__ = ["CONTACT_EVENTS", "ENGAGEMENT_OUTCOMES", "ContactsProcessor", "apply_event", "follow_merge", "record_contact"]
