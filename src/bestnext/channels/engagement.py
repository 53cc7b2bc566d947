"""Email engagement: an open (the pixel) or a click (a tracked link) becomes the bank's own event
on the person's timeline, ``Email Opened`` or ``Email Link Clicked``.

The signed token is the credential (:func:`bestnext.channels.signatures.read_tracking_token`).
The event is appended in the caller's transaction, attributed to the person the action was sent
to, deduplicated by its message id (one open per action, one click per action and link); the
decisions processor reads it like every contact event and, when the email came from a decision,
records its outcome (an open is an impression, a click an acceptance), so models learn from it
and journeys can wait for it. Nothing is recorded when the person's consent no longer allows
``engagement_tracking`` (withdrawn since the send) or the action is unknown (erased): the click
still leads where the message pointed, the pixel is still a pixel.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Connection

from bestnext.channels import outbox, ports, timeline
from bestnext.channels.model import OutboxRow, decision_of
from bestnext.channels.signatures import Tracked, read_tracking_token
from bestnext.errors import Unauthorized

OPENED, CLICKED = "Email Opened", "Email Link Clicked"


def opened(conn: Connection, token: str, secret_key: str, now: datetime) -> bool:
    """The open pixel was fetched; True when an ``Email Opened`` was recorded. A forged token,
    an unknown action or a refusal record nothing and say nothing (the pixel looks the same)."""
    try:
        found = read_tracking_token(token, secret_key)
    except Unauthorized:
        return False
    if found.kind != "open":
        return False
    row = _trackable(conn, found, now)
    return row is not None and timeline.record(
        conn, row.action.person_id, OPENED, f"{row.action.id}:opened", now, touchpoint="email", now=now,
        properties=_properties(row))


def clicked(conn: Connection, token: str, secret_key: str, now: datetime) -> tuple[str, bool]:
    """A tracked link was followed: ``(where it points, whether a click was recorded)``;
    :class:`Unauthorized` when the token is forged or not a link's."""
    found = read_tracking_token(token, secret_key)
    if found.kind != "click" or found.url is None or found.link is None:
        raise Unauthorized("The tracked link is not valid.")
    row = _trackable(conn, found, now)
    recorded = row is not None and timeline.record(
        conn, row.action.person_id, CLICKED, f"{row.action.id}:clicked:{found.link}", now, touchpoint="email",
        now=now, properties={**_properties(row), "link": found.link, "url": _without_query(found.url)})
    return found.url, recorded


def _trackable(conn: Connection, found: Tracked, now: datetime) -> OutboxRow | None:
    """The email action the token names, if it exists and its person still allows tracking."""
    row = outbox.get(conn, found.action_id)
    if row is None or row.action.channel != "email":
        return None
    return row if ports.may_track_now(conn, row.action.person_id, now) else None


def _properties(row: OutboxRow) -> dict[str, Any]:
    a = row.action
    return {"action_id": a.id, "action": a.action, "channel": "email", "purpose": a.purpose,
            "product": a.product, "offer": a.offer, "journey": a.journey, **decision_of(a.data)}


def _without_query(url: str) -> str:
    """The link's address without query and fragment (they may carry personal tokens).

    >>> _without_query("https://bank.example/mutuo?utm=x&email=a@b#top")
    'https://bank.example/mutuo'
    """
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
