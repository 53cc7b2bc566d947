"""The decision's reads (named queries built once) return what the general services return:
profiles followed through merges, households, joint holdings, consent ledgers, contact states."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from bestnext.consent import services as consent
from bestnext.decisions import reads, store
from bestnext.decisions.contact_policy import ContactPolicyConfig
from bestnext.decisions.learning.store import models_stamp
from bestnext.decisions.profile_view import view_of_profile
from bestnext.errors import NotFound
from bestnext.eventlog.tables import events
from bestnext.identity.tables import persons
from bestnext.profiles import services as profiles
from bestnext.replay.service import replay_text

SCENARIOS = Path(__file__).resolve().parents[3] / "shared" / "scenarios"
AT = datetime(2025, 3, 20, 10, 0, tzinfo=UTC)


@pytest.mark.skipif(not SCENARIOS.exists(), reason="../shared/scenarios not present")
def test_the_reads_of_a_decision_equal_the_services_for_every_replayed_person(db_url: str) -> None:
    for name in ("martina.jsonl", "antonio.jsonl", "rossi.jsonl"):
        replay_text((SCENARIOS / name).read_text(encoding="utf-8"), database_url=db_url)
    engine = create_engine(db_url)
    cfg = ContactPolicyConfig()
    try:
        with engine.connect() as conn:
            ids = sorted({str(p) for p in conn.execute(select(persons.c.id)).scalars()})
            merged = [p for p in ids if conn.execute(select(persons.c.absorbed_into)
                                                     .where(persons.c.id == p)).scalar()]
            attributed = conn.execute(select(events.c.person_id).where(events.c.person_id.is_not(None))).first()
            assert len(ids) >= 4 and attributed is not None
            households = 0
            for person in ids:
                expected = view_of_profile(profiles.get_profile(conn, person), AT)
                assert reads.profile_view(conn, person, AT) == expected
                households += bool(expected.facts["household"])
                assert reads.consent_state(conn, person) == consent.state(conn, person)
                assert reads.contact_state(conn, person, AT, cfg) == store.contact_state(conn, person, AT, cfg)
            assert households >= 2  # the Rossi household
            assert reads.offer_usage(conn) == store.offer_usage(conn)
            assert reads.models_stamp(conn) == models_stamp(conn)
            for person in merged:  # an absorbed id reads as the person it was merged into
                assert reads.profile_view(conn, person, AT).person_id == reads.current_person(conn, person) != person
            with pytest.raises(NotFound):
                reads.profile_view(conn, "nobody", AT)
    finally:
        engine.dispose()
