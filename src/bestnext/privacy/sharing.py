"""Handing a person's data to a third party: only with ``transfer_to_third_parties`` (and
``personal_data``), without sensitive fields unless ``sensitive_data``, without behavioural
data (interests) unless ``profiling``. Every hand-over is audited."""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bestnext.access import audit
from bestnext.access.model import Principal
from bestnext.consent import policy
from bestnext.consent import services as consent
from bestnext.consent.model import DataCategory, Decision, Purpose, Use


def shareable(conn: Connection, person_id: str, at: datetime) -> tuple[Decision, dict[str, Any] | None]:
    """The consent decision and, when it allows, what may leave the bank about the person."""
    state = consent.state(conn, person_id)
    decision = policy.may(state, Use.EXPORT, [DataCategory.DECLARED, DataCategory.CONTRACT], None, at)
    if not decision.allowed:
        return decision, None
    profiles = importlib.import_module("bestnext.profiles.services")
    profile = profiles.get_profile(conn, person_id)
    known = state.as_of(at)
    return decision, {
        "traits": policy.filter_sensitive(known, {k: v.get("value") for k, v in profile.traits.items()}),
        "holdings": list(profile.holdings),
        "interests": list(profile.interests) if known.granted(Purpose.PROFILING) else [],
    }


def share(conn: Connection, principal: Principal, person_id: str, recipient: str, at: datetime) -> dict[str, Any] | None:
    """:func:`shareable`, audited as ``privacy.share`` with the recipient (None: not allowed)."""
    decision, data = shareable(conn, person_id, at)
    outcome = "shared" if data is not None else "refused"
    audit.record(conn, principal, "privacy.share", person_id, f"{outcome} to {recipient}", at)
    return data
