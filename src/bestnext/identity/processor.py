"""The identity processor: first in the pipeline, attributes every event to a person."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from sqlalchemy import Connection

from bestnext.clock import Clock
from bestnext.eventlog.model import LoggedEvent
from bestnext.identity import metrics, store
from bestnext.identity.model import USER_ID, Identifier, extract, household_of_message, joint_holders
from bestnext.identity.resolver import BatchResolver

log = structlog.get_logger(__name__)


class IdentityProcessor:
    """Resolves identities of each batch of the log, in offset order."""

    name = "identity"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def handle(self, conn: Connection, batch: Sequence[LoggedEvent]) -> None:
        with metrics.BATCH.time():
            self._handle(conn, batch)

    def _handle(self, conn: Connection, batch: Sequence[LoggedEvent]) -> None:
        store.lock(conn)
        extracted = [(ev, extract(ev.payload)) for ev in batch]
        resolver = BatchResolver(conn, self.clock.now())
        resolver.preload({i.key() for _, ids in extracted for i in ids})
        for ev, ids in extracted:
            person = resolver.resolve(ev, ids)
            if person is not None:
                resolver.assign[ev.seq] = person
                link_households(conn, ev, ids)
        follow_merges(conn, resolver, [ev for ev, ids in extracted if not ids and ev.person_id])
        resolver.flush()
        metrics.EVENTS.inc(len(resolver.assign))
        for merge in resolver.merges:
            metrics.MERGES.inc()
            log.info("persons_merged", survivor_id=merge[0], absorbed_id=merge[1], message_id=merge[2])
        for conflict in resolver.conflicts:
            metrics.CONFLICTS.labels(conflict["kind"]).inc()
            log.info("identity_link_refused", kind=conflict["kind"], person_id=conflict["person_id"],
                     other_person_id=conflict["other_person_id"], message_id=conflict["message_id"])


def follow_merges(conn: Connection, resolver: BatchResolver, attributed: Sequence[LoggedEvent]) -> None:
    """Events appended already attributed (the bank's own records, no identifier) move to
    the person their person was merged into meanwhile."""
    if not attributed:
        return
    current = store.current_of(conn, {ev.person_id for ev in attributed if ev.person_id})
    for ev in attributed:
        assert ev.person_id is not None
        person = resolver.current(current.get(ev.person_id, ev.person_id))
        if person != ev.person_id:
            resolver.assign[ev.seq] = person


def link_households(conn: Connection, ev: LoggedEvent, ids: Sequence[Identifier]) -> None:
    """Household links of a message (keyed by identifier, so they follow merges and splits).

    A household ``group`` call or ``household_id`` trait links the message's strongest
    identifier; the joint holders of an ``Account Opened`` join the household one of them is
    in already, else a new one named ``joint-<account_id>``.
    """
    rows = []
    household = household_of_message(ev.payload)
    if household and ids:
        rows.append(_row(household, ids[0], ev))
    holders = joint_holders(ev.payload)
    if len(holders) > 1:
        keys = [(USER_ID, h) for h in holders]
        known = store.households_of_identifiers(conn, keys)
        account = ev.properties.get("account_id")
        name = known[0][0] if known else f"joint-{account or ev.message_id}"[:200]
        rows += [_row(name, Identifier(USER_ID, h), ev) for h in holders]
    if rows:
        store.link_household(conn, rows)


def _row(household: str, ident: Identifier, ev: LoggedEvent) -> dict[str, object]:
    return {"household_id": household, "id_type": ident.type, "value": ident.value,
            "message_id": ev.message_id, "at": ev.occurred_at}
