"""The consent processor: ``Consent Preferences Updated`` events feed the ledger."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from sqlalchemy import Connection

from bestnext.clock import Clock
from bestnext.consent import services
from bestnext.consent.model import Purpose, Source, parse_changes
from bestnext.eventlog import LoggedEvent

log = structlog.get_logger(__name__)

CONSENT_EVENT = "Consent Preferences Updated"


def changes_of(event: LoggedEvent) -> dict[Purpose, bool]:
    """``context.consent.categoryPreferences`` overridden by ``properties.purposes``."""
    merged: dict[Purpose, bool] = {}
    consent = event.context.get("consent")
    if isinstance(consent, dict) and isinstance(consent.get("categoryPreferences"), dict):
        merged.update(parse_changes(consent["categoryPreferences"]))
    purposes = event.properties.get("purposes")
    if isinstance(purposes, dict):
        merged.update(parse_changes(purposes))
    return merged


class ConsentProcessor:
    """Runs after identity and profiles; sees attributed events only."""

    name = "consent"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def handle(self, conn: Connection, batch: Sequence[LoggedEvent]) -> None:
        for event in batch:
            if event.type != "track" or event.event != CONSENT_EVENT or event.person_id is None:
                continue
            changes = changes_of(event)
            if not changes:
                continue
            props = event.properties
            operator = props.get("operator") if isinstance(props.get("operator"), str) else None
            version = props.get("legal_text_version") or props.get("legal_version")
            services.record(conn, event.person_id, changes,
                            Source(event.touchpoint, event.message_id, operator), event.occurred_at,
                            legal_version=str(version) if version else None,
                            recorded_at=self.clock.now(), event_seq=event.seq)
            log.info("consent_recorded", person_id=event.person_id, seq=event.seq, purposes=len(changes))


def install(clock: Clock) -> ConsentProcessor:
    """Wire consent and privacy into a process (identity listeners, privacy registry and the
    tombstone check on append) and return the consent processor."""
    from bestnext.consent import listeners
    from bestnext.privacy import services as privacy

    listeners.install()
    privacy.install()
    return ConsentProcessor(clock)
