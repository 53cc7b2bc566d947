"""Data subject rights: export everything held on a person, erase it leaving tombstones."""

from __future__ import annotations

import importlib
import time
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, select, text

from bestnext.access import audit
from bestnext.access.model import Principal
from bestnext.clock import Clock
from bestnext.db import metadata
from bestnext.eventlog import admission
from bestnext.eventlog.tables import events
from bestnext.privacy import contributions, registry, scrub, subjects, sweep, tombstones

log = structlog.get_logger(__name__)


def install() -> None:
    """Register privacy's contributors and the tombstone check on append (once per process)."""
    import bestnext.tables  # noqa: F401 - every context's tables, for the generic contributors

    contributions.install()
    admission.register(tombstones.refuse_erased)


def export(conn: Connection, person_id: str, at: datetime) -> dict[str, Any]:
    """Everything held on the person, one section per contributor."""
    install()
    out: dict[str, Any] = {"person_id": person_id, "exported_at": at.isoformat()}
    for contributor in registry.contributors(metadata):
        out.update(contributor.export(conn, person_id))
    exported: dict[str, Any] = jsonable(out)
    return exported


def jsonable(value: Any) -> Any:
    """Plain JSON values: string keys, ISO datetimes, lists for tuples and sets.

    >>> from datetime import UTC, datetime
    >>> jsonable({1: (datetime(2025, 1, 1, tzinfo=UTC), {b"x"})})
    {'1': ['2025-01-01T00:00:00+00:00', ["b'x'"]]}
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _identifiers(conn: Connection, person_id: str) -> tuple[set[str], set[tuple[str, str]]]:
    ids: set[str] = set()
    messages: set[tuple[str, str]] = set()
    rows = conn.execute(select(events.c.source_id, events.c.message_id, events.c.user_id,
                               events.c.anonymous_id, events.c.payload)
                        .where(events.c.person_id == person_id))
    for row in rows:
        messages.add((row.source_id, row.message_id))
        ids |= tombstones.identifiers_in(row.payload or {}, row.user_id, row.anonymous_id)
    try:
        identity = importlib.import_module("bestnext.identity.services")
    except ImportError:
        return ids, messages
    for ident in identity.identities_of(conn, person_id):
        ids.add(tombstones.normalise(str(ident.type), str(ident.value)))
    return ids, messages


def _raw_values(conn: Connection, person_id: str) -> set[str]:
    """Identifier values exactly as the person's messages carried them (for :mod:`scrub`)."""
    found: set[str] = set()
    for row in conn.execute(select(events.c.user_id, events.c.anonymous_id, events.c.payload)
                            .where(events.c.person_id == person_id)):
        found |= {v for v in (row.user_id, row.anonymous_id) if v}
        payload = row.payload or {}
        context = payload.get("context") if isinstance(payload.get("context"), dict) else {}
        for traits in (payload.get("traits"), (context or {}).get("traits")):
            if isinstance(traits, dict):
                found |= {str(traits[k]) for k in ("email", "phone") if traits.get(k)}
    return found


def erase(conn: Connection, person_id: str, at: datetime) -> dict[str, Any]:
    """Erase the person from every contributor, leaving hash tombstones. Caller commits,
    then calls :func:`compact` so that nothing lingers in database files."""
    install()
    ids, messages = _identifiers(conn, person_id)
    raw = _raw_values(conn, person_id)
    buried = tombstones.bury(conn, ids, messages, at)
    names = []
    for contributor in registry.contributors(metadata):
        contributor.erase(conn, person_id)
        names.append(contributor.name)
    scrub.scrub(conn, raw | {i.split(":", 1)[1] for i in ids})
    sweep.schedule(conn, person_id, at)  # again in a few minutes: work in flight right now
    log.info("person_erased", person_id=person_id, tombstones=buried, contributors=len(names))
    return {"person_id": person_id, "erased_at": at.isoformat(), "tombstones": buried,
            "contributors": names}


def compact(engine: Engine) -> None:
    """Rewrite storage so erased bytes are gone: SQLite WAL checkpoint + VACUUM, PG VACUUM."""
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite":
            cur = raw.cursor()
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cur.execute("VACUUM")
            for attempt in range(50):  # a reader elsewhere may pin the WAL for a moment
                busy = cur.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                if not busy:
                    break
                time.sleep(0.05 * (attempt + 1))
            else:
                log.warning("erasure_wal_not_truncated")
            cur.close()
        else:
            raw.driver_connection.autocommit = True  # type: ignore[union-attr]
            with raw.driver_connection.cursor() as cur:  # type: ignore[union-attr]
                cur.execute(text("VACUUM").text)
            raw.driver_connection.autocommit = False  # type: ignore[union-attr]
    finally:
        raw.close()


def export_subject(engine: Engine, clock: Clock, principal: Principal, id_type: str, value: str,
                   why: str | None) -> dict[str, Any]:
    """Export the person named ``id_type:value`` (audited as ``privacy.export``)."""
    now = clock.now()
    with engine.begin() as conn:
        person_id = subjects.resolve(conn, id_type, value)
        audit.record(conn, principal, "privacy.export", person_id, why, now)
        return export(conn, person_id, now)


def erase_subject(engine: Engine, clock: Clock, principal: Principal, id_type: str, value: str,
                  why: str | None) -> dict[str, Any]:
    """Erase the person named ``id_type:value``, then compact storage (audited)."""
    now = clock.now()
    with engine.begin() as conn:
        person_id = subjects.resolve(conn, id_type, value)
        result = erase(conn, person_id, now)
        audit.record(conn, principal, "privacy.erase", person_id, why and "[erasure request]", now)
    compact(engine)
    return result
