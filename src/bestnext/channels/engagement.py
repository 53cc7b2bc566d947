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


def open_of(token: str, secret_key: str) -> str | None:
    """The action id of a valid open-pixel token, else None (checked before any database work:
    a forged pixel costs no transaction)."""
    try:
        found = read_tracking_token(token, secret_key)
    except Unauthorized:
        return None
    return found.action_id if found.kind == "open" else None


def link_of(token: str, secret_key: str) -> Tracked:
    """What a tracked link's token names; :class:`Unauthorized` when it is forged or not a link's."""
    found = read_tracking_token(token, secret_key)
    if found.kind != "click" or found.url is None or found.link is None:
        raise Unauthorized("The tracked link is not valid.")
    return found


def opened(conn: Connection, action_id: str, now: datetime) -> bool:
    """The open pixel of ``action_id`` was fetched; True when an ``Email Opened`` was recorded
    (False: already counted, unknown action, or tracking refused)."""
    row = _trackable(conn, action_id, now)
    return row is not None and timeline.record(
        conn, row.action.person_id, OPENED, f"{row.action.id}:opened", now, touchpoint="email", now=now,
        properties=_properties(row))


def clicked(conn: Connection, link: Tracked, now: datetime) -> bool:
    """A tracked link (from :func:`link_of`) was followed; True when an ``Email Link Clicked``
    was recorded (False: already counted for this link, unknown action, or tracking refused)."""
    row = _trackable(conn, link.action_id, now)
    return row is not None and link.url is not None and timeline.record(
        conn, row.action.person_id, CLICKED, f"{row.action.id}:clicked:{link.link}", now, touchpoint="email",
        now=now, properties={**_properties(row), "link": link.link, "url": _without_query(link.url)})


def _trackable(conn: Connection, action_id: str, now: datetime) -> OutboxRow | None:
    """The email action ``action_id``, if it exists and its person still allows tracking."""
    row = outbox.get(conn, action_id)
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
