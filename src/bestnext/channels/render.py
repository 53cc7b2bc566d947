"""Rendering an action into the message a channel carries (Jinja2 templates for email)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bestnext.channels import tracking
from bestnext.channels.model import OutboundAction, Rendered
from bestnext.channels.signatures import unsubscribe_token

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html.j2"]),
                   keep_trailing_newline=True)
_env.filters["linkify"] = tracking.linkify

SUBJECTS = {"service": "Un messaggio dalla tua banca", "marketing": "Una proposta per te"}


def unsubscribe_url(base_url: str, person_id: str, channel: str, secret_key: str) -> str:
    return f"{base_url.rstrip('/')}/v1/unsubscribe/{unsubscribe_token(person_id, channel, secret_key)}"


def _template(channel: str, action: str, kind: str) -> str:
    specific = f"{channel}/{action}.{kind}.j2"
    return specific if (TEMPLATES / specific).exists() else f"{channel}/default.{kind}.j2"


def render(action: OutboundAction, to: str, at: datetime, *, base_url: str, secret_key: str,
           bank_name: str = "Banca Demo", tracking_allowed: bool = False) -> Rendered:
    """The message for ``action`` addressed to ``to``.

    Email gets a text and an HTML part and, for every message, a one-click ``List-Unsubscribe``
    (RFC 8058) with a signed link. With ``tracking_allowed`` (the person's consent allows
    ``engagement_tracking``: the dispatcher asks) its links become signed redirects and an open
    pixel is added (:mod:`bestnext.channels.tracking`); without, the message carries neither.
    Other channels carry the treatment text as it is.
    """
    text = action.text or ""
    if action.channel != "email":
        return Rendered(action.id, action.channel, to, text, subject=action.data.get("subject"), at=at)
    url = unsubscribe_url(base_url, action.person_id, "email", secret_key)
    values = {"text": text, "bank_name": bank_name, "unsubscribe_url": url, "action": action.action,
              "product": action.product, "offer": action.offer}
    headers = {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    body = _env.get_template(_template("email", action.action, "txt")).render(values)
    html = _env.get_template(_template("email", action.action, "html")).render(values)
    if tracking_allowed:
        body, html = tracking.track(body, html, action.id, base_url=base_url, secret_key=secret_key, skip={url})
    return Rendered(action.id, "email", to, body, subject=str(action.data.get("subject") or SUBJECTS[action.purpose]),
                    html=html, headers=headers, at=at)
