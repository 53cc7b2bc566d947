"""What privacy exports and erases for the contexts it owns or that predate the registry:
the event log, consent, the audit log (identity and profiles: see :func:`install`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, or_, select

from bestnext.access import audit
from bestnext.consent import services as consent_services
from bestnext.consent import store as consent_store
from bestnext.eventlog.tables import events
from bestnext.privacy import identity_contributions, registry


def person_event_ids(conn: Connection, person_id: str) -> tuple[set[str], set[str]]:
    """The ``user_id`` and ``anonymous_id`` values on the person's events."""
    rows = conn.execute(select(events.c.user_id, events.c.anonymous_id)
                        .where(events.c.person_id == person_id)).all()
    return {r.user_id for r in rows if r.user_id}, {r.anonymous_id for r in rows if r.anonymous_id}


def _events_where(conn: Connection, person_id: str) -> Any:
    user_ids, anonymous_ids = person_event_ids(conn, person_id)
    return or_(events.c.person_id == person_id,
               events.c.user_id.in_(sorted(user_ids)), events.c.anonymous_id.in_(sorted(anonymous_ids)))


def export_events(conn: Connection, person_id: str) -> dict[str, Any]:
    rows = conn.execute(select(events).where(_events_where(conn, person_id)).order_by(events.c.seq))
    return {"events": [dict(r._mapping) for r in rows]}


def erase_events(conn: Connection, person_id: str) -> None:
    """Whole rows go: payloads, message ids and identifier columns all hold personal data."""
    conn.execute(delete(events).where(_events_where(conn, person_id)))


def export_consents(conn: Connection, person_id: str) -> dict[str, Any]:
    return {"consents": consent_services.show(conn, person_id)}


def install() -> None:
    """Register the contributors privacy owns (idempotent)."""
    registry.register("eventlog", export_events, erase_events, ("events",))
    registry.register("consent", export_consents, consent_store.erase, ("consent_ledger",))
    registry.register("audit", audit.export, audit.erase, ("audit_log",))
    registry.not_personal("processor_checkpoints", "api_keys", "privacy_tombstones")
    identity_contributions.install()
