"""Plain values of the channels context: outbound actions, their states, retry arithmetic.

No I/O here. The outbox (``outbox.py``) stores these; the dispatcher moves them between states.

Examples
--------
>>> import random
>>> backoff(1, random.Random(7), base=30, cap=3600) <= 30
True
>>> backoff(20, random.Random(7), base=30, cap=3600) <= 3600
True
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

CHANNELS = ("email", "sms", "call_center", "branch", "social", "web", "app", "push", "post")
PURPOSES = ("service", "marketing")
ASSISTED = ("call_center", "branch")

#: The timeline event recorded when an action is sent on a channel.
SENT_EVENTS = {
    "email": "Email Sent", "sms": "SMS Sent", "call_center": "Call Task Created",
    "branch": "Branch Briefing Created", "social": "Social Reply Sent", "web": "Web Message Sent",
    "app": "In-App Message Sent", "push": "Push Sent", "post": "Letter Sent",
}


class Status(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class OutboundAction:
    """An action to deliver; ``id`` is its idempotency key, all the way to the provider."""

    person_id: str
    channel: str
    purpose: str
    action: str
    due_at: datetime
    product: str | None = None
    offer: str | None = None
    journey: str | None = None
    based_on: tuple[str, ...] = ()
    assignee: str | None = None
    text: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
        if self.purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {self.purpose!r}")


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """An action as stored in the outbox, with its delivery state."""

    action: OutboundAction
    status: Status
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None
    provider_message_id: str | None
    claimed_by: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the pre-send gate says: send, cancel (with reason) or reschedule to ``at``."""

    kind: str  # "send" | "cancel" | "reschedule"
    reasons: tuple[str, ...] = ()
    at: datetime | None = None

    @classmethod
    def send(cls) -> Verdict:
        return cls("send")


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message ready for a provider: never logged (it holds the address and the text)."""

    action_id: str
    channel: str
    to: str
    text: str
    subject: str | None = None
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    at: datetime | None = None


class SendError(Exception):
    """A provider could not take the message; ``permanent`` errors are not retried."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:500]
        self.permanent = permanent


def decision_of(data: dict[str, Any]) -> dict[str, str]:
    """``{"decision_id": ...}`` when the action came from a logged NBA decision, else ``{}``:
    the channels copy it into the timeline events of the contact, so that sends and call
    outcomes reach the decision and teach its model.

    Examples
    --------
    >>> decision_of({"decision_id": "d-1", "branch": "b"}), decision_of({})
    ({'decision_id': 'd-1'}, {})
    """
    found = data.get("decision_id")
    return {"decision_id": str(found)} if found else {}


def backoff(attempts: int, rng: random.Random, *, base: float = 30.0, cap: float = 3600.0) -> float:
    """Seconds to wait before retry number ``attempts`` (1-based): exponential, capped,
    with "equal jitter" (half fixed, half random) so that retries of many actions spread out.

    >>> import random
    >>> [round(backoff(n, random.Random(0), base=10, cap=1000)) for n in (1, 2, 3)]
    [9, 18, 37]
    """
    ceiling = min(cap, base * (2 ** max(0, attempts - 1)))
    return float(ceiling / 2 + rng.uniform(0, ceiling / 2))


def classify_reply(body: str) -> str:
    """The intent of an inbound SMS/social reply: ``positive``, ``stop`` or ``other``.

    >>> [classify_reply(b) for b in ("Si", "SÌ!", " yes ", "STOP", "Maybe later")]
    ['positive', 'positive', 'positive', 'stop', 'other']
    """
    word = "".join(ch for ch in body.strip().upper() if ch.isalpha() or ch == "Ì")
    if word in {"SI", "SÌ", "YES", "OK", "SII"}:
        return "positive"
    if word in {"STOP", "BASTA", "UNSUBSCRIBE", "CANCELLA"}:
        return "stop"
    return "other"
