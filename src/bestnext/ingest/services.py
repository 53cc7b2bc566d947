"""Use cases of collection: accept messages into the event log, manage sources.

:func:`accept` is the one path every message takes (HTTP API, ``bestnext import``,
``bestnext replay``, channels' inbound events): validate, then append in the caller's
transaction. :class:`Receiver` wraps it for the API: authenticate the write key, commit
durably before returning, wake the processors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import Connection

from bestnext.access import hash_secret
from bestnext.db import read
from bestnext.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, Unauthorized
from bestnext.eventlog import NewEvent
from bestnext.eventlog import store as eventlog
from bestnext.ingest import metrics, store
from bestnext.ingest.model import Limits, MessageError, Result, Source, validate
from bestnext.writer import GroupCommitter, durable_commit

if TYPE_CHECKING:
    from bestnext.bootstrap import Container

log = structlog.get_logger(__name__)
KEY_CACHE_SECONDS = 5.0  # a revoked write key stops working within this many seconds


def accept(conn: Connection, source: Source, messages: Sequence[object], received_at: datetime, *,
           batch_sent_at: datetime | None = None, forced_type: str | None = None,
           limits: Limits = Limits(), indices: Sequence[int] | None = None) -> Result:
    """Validate ``messages`` and append the valid ones to the log, in ``conn``'s transaction.

    Invalid messages are reported in ``Result.errors`` (by index) and do not stop the rest.
    A message whose ``(source, messageId)`` is already logged counts as a duplicate and is
    not stored again. The caller commits, then notifies the processors.
    """
    events, errors, repeated = validate(messages, source, received_at, batch_sent_at=batch_sent_at,
                                        forced_type=forced_type, limits=limits, indices=indices)
    return store_valid(conn, events, errors, repeated)


def store_valid(conn: Connection, events: Sequence[NewEvent], errors: list[MessageError],
                repeated: int = 0) -> Result:
    """Append already validated events; count what was new and what was a duplicate."""
    inserted = eventlog.append(conn, events) if events else 0
    duplicates = len(events) - inserted + repeated
    metrics.ACCEPTED.inc(inserted)
    metrics.DUPLICATES.inc(duplicates)
    metrics.REJECTED.inc(len(errors))
    return Result(accepted=inserted, duplicates=duplicates, errors=errors,
                  message_ids=[e.message_id for e in events])


def raise_for_errors(result: Result) -> None:
    """Turn a partly rejected request into one problem naming every bad message."""
    if not result.errors:
        return
    detail = (f"{result.rejected} message(s) rejected; {result.accepted + result.duplicates} "
              "valid message(s) stored.")
    errors = [e.as_dict() for e in result.errors]
    if all(e.too_large for e in result.errors):
        raise PayloadTooLarge(detail, errors=errors)
    raise InvalidInput(detail, errors=errors)


def ensure_source(conn: Connection, name: str, touchpoint: str, now: datetime) -> Source:
    """The source called ``name``, created for internal use (its write key is discarded)."""
    found = store.find_by_name(conn, name)
    if found is not None:
        return found
    source, _unused_key = store.insert_source(conn, name, touchpoint, now)
    return source


def create_source(conn: Connection, name: str, touchpoint: str, now: datetime) -> tuple[Source, str]:
    """Create a source; returns it with its write key (the only time the key is visible)."""
    if not name.strip() or not touchpoint.strip():
        raise InvalidInput("A source needs a name and a touchpoint.")
    if store.find_by_name(conn, name) is not None:
        raise Conflict(f"A source named '{name}' already exists.")
    return store.insert_source(conn, name, touchpoint, now)


def revoke_source(conn: Connection, source_id: str, now: datetime) -> None:
    if not store.revoke(conn, source_id, now):
        raise NotFound(f"No live source with id '{source_id}'.")


def list_sources(conn: Connection) -> list[Source]:
    return store.list_sources(conn)


@dataclass(slots=True)
class Prepared:
    """A request's messages, authenticated and validated, waiting for their commit."""

    source: Source
    events: list[NewEvent]
    errors: list[MessageError]
    repeated: int
    started: float

    def store(self, conn: Connection) -> Result:
        return store_valid(conn, self.events, self.errors, self.repeated)


class Receiver:
    """The API's ingest path: write key -> source, validate, durable commit, notify.

    One writer thread group-commits concurrent requests (:mod:`bestnext.writer`); each
    request is answered once the transaction holding its events has committed.
    """

    def __init__(self, container: Container) -> None:
        settings = container.settings
        self.engine, self.clock, self.notifier = container.engine, container.clock, container.notifier
        self.limits = Limits(settings.max_message_bytes, settings.max_batch_bytes)
        durable = None if settings.is_sqlite else durable_commit  # SQLite: synchronous=FULL
        self._committer = GroupCommitter(self.engine, durable, name="ingest-commit")
        self._keys: dict[str, tuple[Source, float]] = {}

    def authenticate(self, write_key: str | None) -> Source:
        """The live source of ``write_key`` (cached for a few seconds)."""
        if not write_key:
            raise Unauthorized("A write key is required (HTTP Basic user name, or writeKey).")
        digest, now = hash_secret(write_key), self.clock.monotonic()
        cached = self._keys.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        with read(self.engine) as conn:
            source = store.find_by_key(conn, write_key)
        if source is None:
            raise Unauthorized("The write key is not valid.")
        self._keys[digest] = (source, now + KEY_CACHE_SECONDS)
        return source

    def prepare(self, write_key: str | None, messages: Sequence[object], *,
                batch_sent_at: datetime | None = None, forced_type: str | None = None,
                indices: Sequence[int] | None = None,
                prior_errors: Sequence[MessageError] = ()) -> Prepared:
        """Authenticate and validate (no I/O but a cached key lookup)."""
        started = self.clock.monotonic()
        source = self.authenticate(write_key)
        events, errors, repeated = validate(
            messages, source, self.clock.now(), batch_sent_at=batch_sent_at, forced_type=forced_type,
            limits=self.limits, indices=indices)
        errors = sorted([*prior_errors, *errors], key=lambda e: e.index) if prior_errors else errors
        return Prepared(source, events, errors, repeated, started)

    def receive(self, write_key: str | None, messages: Sequence[object], **options: Any) -> Result:
        """Store the valid messages durably (committed on return) and report the rest."""
        prepared = self.prepare(write_key, messages, **options)
        return self.finish(prepared, self._committer.run(prepared.store))

    async def receive_async(self, write_key: str | None, messages: Sequence[object],
                            **options: Any) -> Result:
        """:meth:`receive` for the event loop: waits for the commit without holding a thread."""
        prepared = self.prepare(write_key, messages, **options)
        result = await asyncio.wrap_future(self._committer.submit(prepared.store))
        return self.finish(prepared, result)

    def finish(self, prepared: Prepared, result: Result) -> Result:
        """After the commit: wake the processors, count, log (no PII)."""
        if result.accepted:
            self.notifier.notify()
        metrics.LATENCY.observe(self.clock.monotonic() - prepared.started)
        source_id = prepared.source.id
        log.debug("ingest_accepted", source_id=source_id, accepted=result.accepted,
                  duplicates=result.duplicates)
        if result.errors:
            log.info("ingest_rejected", source_id=source_id, accepted=result.accepted,
                     duplicates=result.duplicates, rejected=result.rejected,
                     fields=sorted({e.field for e in result.errors}))
        return result
