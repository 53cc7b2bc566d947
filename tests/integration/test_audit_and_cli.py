"""Audit of profile reads, pseudonymised views for analysts, retention, and the CLI commands
(`consents show`, `privacy export|erase|retention`, `audit list`) as real processes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bestnext.access import Principal, Role, audit
from bestnext.bootstrap import Container
from bestnext.eventlog import NewEvent
from bestnext.eventlog import store as log
from bestnext.privacy import retention
from tests.support.server import run_cli

SCENARIOS = Path("/work/shared/scenarios")
EMAIL = "martina.bianchi@example.org"


def ingest_martina(container: Container) -> None:
    from bestnext.ingest import services as ingest

    messages = [json.loads(line) for line in (SCENARIOS / "martina.jsonl").read_text().splitlines()]
    now = container.clock.now()
    with container.engine.begin() as conn:
        source = ingest.ensure_source(conn, "scenarios", "web", now)
        assert not ingest.accept(conn, source, messages, now).errors
    container.pipeline.run_until_idle()


def test_profile_reads_are_audited_and_analysts_see_pseudonyms(container: Container) -> None:
    profiles = pytest.importorskip("bestnext.profiles.services")
    ingest_martina(container)
    analyst, agent = Principal("k1", "analyst", Role.ANALYST), Principal("k2", "Luigi", Role.AGENT)
    with container.engine.begin() as conn:
        profile = profiles.profile_of(conn, "email", EMAIL)
        view = profile.public()
        seen_by_analyst = audit.profile_view(conn, analyst, profile.id, view, "churn study", container.clock.now(),
                                             container.settings.secret_key)
        seen_by_agent = audit.profile_view(conn, agent, profile.id, view, None, container.clock.now(), "k")
        trail = audit.entries(conn, person_id=profile.id)
    dumped = json.dumps(seen_by_analyst, default=str)
    assert EMAIL not in dumped and "+393471112233" not in dumped and "Bianchi" not in dumped
    assert profile.id not in dumped
    assert seen_by_analyst["traits"]["age"] == view["traits"]["age"]  # non-identifying data stays
    assert EMAIL in json.dumps(seen_by_agent, default=str)
    assert [(e["role"], e["purpose"]) for e in trail] == [("agent", None), ("analyst", "churn study")]


def test_retention_deletes_only_what_is_older_than_its_rule(container: Container) -> None:
    now = container.clock.now()

    def page(i: int, age: timedelta) -> NewEvent:
        at = now - age
        return NewEvent(source_id="web", message_id=f"pg-{i}", type="page", touchpoint="web", occurred_at=at,
                        received_at=at, payload={"type": "page"}, anonymous_id="a")

    with container.engine.begin() as conn:
        log.append(conn, [page(1, timedelta(days=500)), page(2, timedelta(days=300)),
                          NewEvent(source_id="web", message_id="old-form", type="track", touchpoint="web",
                                   occurred_at=now - timedelta(days=900), received_at=now,
                                   payload={}, event="Form Submitted", anonymous_id="a")])
    assert retention.run(container, dry_run=True)["page"] == 1
    assert retention.run(container)["page"] == 1
    with container.engine.connect() as conn:
        left = [e.message_id for e in log.read_after(conn, 0, 100)]
    assert left == ["pg-2", "old-form"]
    assert retention.run(container)["page"] == 0


def test_the_commands_show_export_erase_and_list_the_audit(container: Container) -> None:
    pytest.importorskip("bestnext.identity.services")
    ingest_martina(container)
    url = container.settings.database_url
    shown = json.loads(run_cli(url, "consents", "show", f"email:{EMAIL}", "--json"))
    assert shown["current"]["own_marketing"] is True and len(shown["history"]) == 7
    exported = json.loads(run_cli(url, "privacy", "export", f"email:{EMAIL}"))
    assert {e["message_id"] for e in exported["events"]} >= {"martina-01", "martina-06"}
    assert "would_delete" in json.loads(run_cli(url, "privacy", "retention", "--dry-run"))
    erased = json.loads(run_cli(url, "privacy", "erase", f"email:{EMAIL}", "--yes"))
    entries = json.loads(run_cli(url, "audit", "list", "--json"))
    assert [e["action"] for e in entries][:3] == ["privacy.erase", "privacy.export", "consent.read"]
    assert {e["person_id"] for e in entries[:3]} == {erased["person_id"]}
    with pytest.raises(AssertionError, match="No person with that email"):
        run_cli(url, "consents", "show", f"email:{EMAIL}")
    with pytest.raises(AssertionError, match="TYPE:VALUE"):
        run_cli(url, "privacy", "export", "nonsense")


def test_retention_rules_are_validated() -> None:
    from bestnext.errors import ConfigInvalid

    with pytest.raises(ConfigInvalid):
        retention.parse_rules({"events": {"page": "forever"}})
    rules = retention.load_rules(Path(__file__).parents[2] / "src/bestnext/demo_bank")
    assert {r.event_type for r in rules} >= {"page", "Competitor Site Visited"}
    assert datetime(2025, 2, 28, tzinfo=UTC) == retention.Rule("page", 13, "month").cutoff(
        datetime(2026, 3, 31, tzinfo=UTC))


def test_the_daily_retention_timer_applies_the_rules_and_reschedules_itself(db_url: str, tmp_path: Path) -> None:
    from bestnext.bootstrap import build
    from bestnext.clock import VirtualClock
    from bestnext.settings import Settings
    from bestnext.timers import store as timers

    start = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    clock = VirtualClock(start)
    container = build(Settings(database_url=db_url, environment="test", var_dir=tmp_path), clock=clock)
    try:
        old = start - timedelta(days=800)
        with container.engine.begin() as conn:
            log.append(conn, [NewEvent(source_id="web", message_id="pg-old", type="page", touchpoint="web",
                                       occurred_at=old, received_at=old, payload={"type": "page"}, anonymous_id="a")])
            retention.install_timer(container)
            assert retention.schedule_next(conn, start) is True
            assert retention.schedule_next(conn, start) is False  # one per day
        assert container.service("timers").fire_due() == 0
        clock.advance_to(datetime(2026, 3, 11, 3, 0, 1, tzinfo=retention.ROME))
        assert container.service("timers").fire_due() == 1
        with container.engine.connect() as conn:
            assert log.read_after(conn, 0, 10) == []
            pending = [t.key for t in timers.pending(conn, retention.TIMER_KIND)]
        assert pending == [f"{retention.TIMER_KIND}:2026-03-12"]
    finally:
        container.dispose()
