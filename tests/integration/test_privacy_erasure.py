"""DSAR on real databases: export everything, erase down to the database files and the log,
and tombstones that stop a resent event from resurrecting the person."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text

from bestnext.access import Principal, Role, audit
from bestnext.bootstrap import Container
from bestnext.db import metadata
from bestnext.eventlog import NewEvent
from bestnext.eventlog import store as log
from bestnext.eventlog.tables import events
from bestnext.privacy import registry, services, subjects

SCENARIOS = Path("/work/shared/scenarios")
MARTINA = ["martina.bianchi@example.org", "+393471112233", "3471112233", "Bianchi", "Martina", "martina",
           "web-5c1e", "dmp-88af", "fb-1000234", "my parents can top up", "how much does your prepaid"]
ANTONIO = "antonio"
COMPLIANCE = Principal("k1", "compliance officer", Role.COMPLIANCE)


def messages(name: str) -> list[NewEvent]:
    out = []
    for line in (SCENARIOS / f"{name}.jsonl").read_text().splitlines():
        msg = json.loads(line)
        at = datetime.fromisoformat(msg["timestamp"])
        touch = msg.get("context", {}).get("touchpoint", "web")
        out.append(NewEvent(source_id=touch, message_id=msg["messageId"], type=msg["type"], touchpoint=touch,
                            occurred_at=at, received_at=at, payload=msg, event=msg.get("event"),
                            user_id=msg.get("userId"), anonymous_id=msg.get("anonymousId")))
    return out


def load(container: Container) -> str:
    """Martina's and Antonio's histories through the real pipeline; returns Martina's person id."""
    with container.engine.begin() as conn:
        log.append(conn, messages("martina") + messages("antonio"))
    container.pipeline.run_until_idle()
    with container.engine.begin() as conn:
        unattributed = conn.execute(select(events.c.seq, events.c.message_id).where(events.c.person_id.is_(None))).all()
        for seq, message_id in unattributed:  # only while identity resolution has not landed
            log.assign_person(conn, [seq], message_id.split("-")[0])
    container.pipeline.run_until_idle()
    with container.engine.connect() as conn:
        row = conn.execute(select(events.c.person_id).where(events.c.message_id == "martina-01")).one()
    return str(row.person_id)


def database_text(container: Container) -> str:
    """Everything the database holds, as text: SQLite's files' bytes (main, WAL, free pages
    included); every row of every table on PostgreSQL (after VACUUM)."""
    engine: Engine = container.engine
    if engine.dialect.name == "sqlite":
        path = Path(str(engine.url.database))
        blobs = [p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]
        return b"".join(blobs).decode("latin-1")
    parts = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            parts += [str(r[0]) for r in conn.execute(text(f'SELECT CAST(t AS text) FROM "{table}" AS t'))]
    return "\n".join(parts)


def test_erasure_leaves_no_trace_in_the_database_files_or_the_log(container: Container) -> None:
    person = load(container)
    before = database_text(container)
    assert all(ident in before for ident in MARTINA[:3]), "the search must see data before erasure"
    result = services.erase_subject(container.engine, container.clock, COMPLIANCE, "person", person, "art. 17")
    assert result["tombstones"] >= 5
    after = database_text(container)
    left = [ident for ident in MARTINA if ident.lower() in after.lower()]
    assert left == [], f"erased person's identifiers still in the database: {left}"
    assert ANTONIO in after.lower(), "another person's data must survive"
    logged = container.settings.log_file.read_text() if container.settings.log_file.exists() else ""  # type: ignore[union-attr]
    assert [i for i in MARTINA if i in logged] == []
    with container.engine.connect() as conn:
        trail = audit.entries(conn, person_id=person)
    assert [(e["action"], e["role"]) for e in trail] == [("privacy.erase", "compliance")]


def test_a_resent_event_does_not_resurrect_an_erased_person(container: Container) -> None:
    person = load(container)
    services.erase_subject(container.engine, container.clock, COMPLIANCE, "person", person, None)
    resent = messages("martina")
    same_email = NewEvent(source_id="web", message_id="new-1", type="identify", touchpoint="web",
                          occurred_at=resent[0].occurred_at, received_at=resent[0].received_at,
                          payload={"type": "identify", "traits": {"email": "Martina.Bianchi@example.org"}},
                          anonymous_id="another-device")
    other = messages("antonio")[0]
    other = NewEvent(source_id="web", message_id="antonio-new", type="identify", touchpoint="web",
                     occurred_at=other.occurred_at, received_at=other.received_at, payload={"type": "identify"},
                     anonymous_id="partner-4471")
    with container.engine.begin() as conn:
        assert log.append(conn, resent) == 0
        assert log.append(conn, [same_email]) == 0
        assert log.append(conn, [other]) == 1
    container.pipeline.run_until_idle()
    assert [i for i in MARTINA[:3] if i in database_text(container)] == []


def test_erasing_one_of_a_household_keeps_the_other(container: Container) -> None:
    pytest.importorskip("bestnext.identity.services")
    gaias = NewEvent(source_id="branch", message_id="gaia-joint", type="track", touchpoint="branch",
                     occurred_at=messages("rossi")[-1].occurred_at, received_at=messages("rossi")[-1].occurred_at,
                     payload={"type": "track", "userId": "C100235", "event": "Standing Order Created",
                              "properties": {"holders": ["C100234", "C100235"], "note": "with giorgio.rossi@example.org"}},
                     event="Standing Order Created", user_id="C100235")
    with container.engine.begin() as conn:
        log.append(conn, [*messages("rossi"), gaias])
    container.pipeline.run_until_idle()
    giorgio = ["giorgio.rossi@example.org", "+393351234567", "Giorgio", "web-77c0", "1000871", "C100234"]
    assert all(i in database_text(container) for i in giorgio)
    services.erase_subject(container.engine, container.clock, COMPLIANCE, "user_id", "C100234", "art. 17")
    after = database_text(container)
    assert [i for i in giorgio if i in after] == []
    assert "gaia.rossi@example.org" in after and "+393357654321" in after
    with container.engine.connect() as conn:
        kept = conn.execute(select(events.c.payload).where(events.c.message_id == "gaia-joint")).scalar_one()
    assert kept["properties"]["holders"] == ["[erased]", "C100235"]  # Gaia's own event stays, without him
    with container.engine.connect() as conn:
        gaia = subjects.resolve(conn, "email", "gaia.rossi@example.org")
        assert subjects.find(conn, "user_id", "C100234") is None
        exported = services.export(conn, gaia, container.clock.now())
    assert exported["consents"]["current"]["satisfaction_survey"] is True


def test_export_holds_everything_on_the_person_and_nothing_on_others(container: Container) -> None:
    person = load(container)
    exported = services.export_subject(container.engine, container.clock, COMPLIANCE, "person", person, "DSAR")
    dumped = json.dumps(exported, default=str)
    assert {e["message_id"] for e in exported["events"]} >= {f"martina-0{i}" for i in range(1, 7)}
    assert exported["consents"]["current"]["own_marketing"] is True
    assert "martina.bianchi@example.org" in dumped and ANTONIO not in dumped.lower()
    assert exported["audit"][0]["action"] == "privacy.export"


def test_every_table_is_covered_by_the_privacy_registry(container: Container) -> None:
    services.install()
    assert registry.uncovered(metadata) == [], (
        "tables that privacy neither exports nor erases: register them with privacy.registry.register "
        "(or registry.not_personal) — see docs/CONTRACTS.md")


def test_subjects_resolve_identifiers_without_echoing_them(container: Container) -> None:
    with container.engine.connect() as conn:
        assert subjects.resolve(conn, "person", "p1") == "p1"
        try:
            subjects.resolve(conn, "email", "nobody@example.org")
        except Exception as exc:  # noqa: BLE001 - NotFound or Unavailable, both without the value
            assert "nobody@example.org" not in str(exc)
