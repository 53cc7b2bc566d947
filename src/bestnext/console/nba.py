"""The NBA panel's use cases: ask decisions for the person's next actions now, and record what
the person answered (accept / decline / not now) so that models learn and journeys move on.

The answer is recorded twice on purpose: as a decision outcome (``decisions.services``) and as an
event on the person's timeline (``channels.timeline``), which journeys wait for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from bestnext.access.model import Role
from bestnext.channels import timeline
from bestnext.decisions import services as decisions
from bestnext.decisions import store as decisions_store
from bestnext.decisions.model import Decision, DecisionContext
from bestnext.errors import InvalidInput

# button -> (decision outcome, timeline event)
RESPONSES: dict[str, tuple[str, str]] = {
    "accept": ("accepted", "Next Action Accepted"),
    "decline": ("declined", "Next Action Declined"),
    "not_now": ("ignored", "Next Action Postponed"),
}


def channel_of(role: Role) -> str | None:
    """Where the person is while the console shows the panel (the assisted channel).

    >>> channel_of(Role.AGENT), channel_of(Role.BRANCH), channel_of(Role.MARKETER)
    ('call_center', 'branch', None)
    """
    return {Role.AGENT: "call_center", Role.BRANCH: "branch"}.get(role)


@dataclass(frozen=True, slots=True)
class Panel:
    decision_id: str
    decision: Decision


def next_actions(conn: Connection, person_id: str, role: Role, operator: str, now: datetime,
                 config_dir: Path, lang: str = "it", n: int = 5) -> Panel:
    """Decide (and log) the person's ranked next actions for an assisted contact now."""
    inbound = channel_of(role)
    context = DecisionContext(at=now, reason="assisted_contact" if inbound else "browse", inbound_channel=inbound,
                              language=lang, variables={"operator": operator})
    decision_id, decision = decisions.decide_logged(conn, person_id, context, None, n, config_dir=config_dir)
    return Panel(decision_id, decision)


def respond(conn: Connection, person_id: str, decision_id: str, action_id: str, response: str,
            operator: str, role: Role, now: datetime, config_dir: Path) -> str:
    """Record the person's answer to a proposed action; returns the decision outcome."""
    if response not in RESPONSES:
        raise InvalidInput("Unknown response.", errors=[{"field": "response", "message": f"one of {sorted(RESPONSES)}"}])
    outcome, event = RESPONSES[response]
    done = decisions.record_outcome(conn, decision_id, action_id, outcome, now, config_dir=config_dir)
    if done.recorded:
        timeline.record(conn, person_id, event, f"console:{decision_id}:{action_id}:{outcome}", now,
                        touchpoint=channel_of(role) or "console", now=now,
                        properties={"decision_id": decision_id, "action": action_id, "outcome": outcome,
                                    "operator": operator, **_proposed(conn, decision_id, action_id)})
    return outcome


def _proposed(conn: Connection, decision_id: str, action_id: str) -> dict[str, Any]:
    """What was proposed (purpose, product, offer, channel): journeys' rules read it."""
    decision = decisions_store.get_decision(conn, decision_id) or {}
    action: dict[str, Any] = next(
        (a for a in decision.get("actions", []) if a.get("action_id") == action_id), {})
    return {k: action.get(k) for k in ("purpose", "product", "offer", "channel") if action.get(k)}
