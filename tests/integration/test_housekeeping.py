"""Housekeeping on SQLite and PostgreSQL: old fired/cancelled/failed timers, sent/cancelled/dead
outbox actions and ended console sessions go; pending, unsent and young rows stay; a dry run
deletes nothing; a backlog goes in batches (by hand, and as a chain of timers after the daily
retention run); ``bestnext privacy retention`` reports the counts per kind."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, event, select, update

from bestnext.access import Role, users
from bestnext.access.users_tables import console_sessions
from bestnext.bootstrap import Container, build
from bestnext.channels import outbox
from bestnext.channels.model import OutboundAction, Status
from bestnext.channels.tables import outbox as outbox_table
from bestnext.clock import VirtualClock
from bestnext.db import read
from bestnext.privacy import housekeeping, retention
from bestnext.settings import DEMO_CONFIG_DIR, Settings
from bestnext.timers import store as timers
from bestnext.timers.model import Timer
from bestnext.timers.tables import timers as timers_table
from tests.support.server import run_cli

DAY = timedelta(days=1)


def _timer(conn: Connection, name: str, status: str, now: datetime, age: timedelta) -> None:
    """A timer ``name`` (its key) in ``status``, finished ``age`` ago (due then, if pending)."""
    at = now - age
    timers.schedule(conn, "test", at, {}, now=at - DAY, key=name)
    timer_id = conn.execute(select(timers_table.c.id).where(timers_table.c.key == name)).scalar_one()
    if status == "done":
        timers.mark_done(conn, [timer_id], at)
    elif status == "cancelled":
        timers.cancel(conn, name)
    elif status == "failed":
        timers.mark_retry(conn, Timer(timer_id, "test", at, attempts=4), at, "boom", give_up=True)


def _timer_keys(conn: Connection) -> set[str]:
    return set(conn.execute(select(timers_table.c.key)).scalars())


def _message(conn: Connection, name: str, status: Status, now: datetime, age: timedelta) -> None:
    """An outbox action ``name`` (its action) in ``status``, sent/finished ``age`` ago."""
    at = now - age
    action = OutboundAction(person_id="p1", channel="email", purpose="service", action=name, due_at=at)
    outbox.enqueue(conn, action, now=at - DAY)
    values: dict[str, object] = {"status": status.value}
    if status is Status.SENT:
        values["sent_at"] = at
    conn.execute(update(outbox_table).where(outbox_table.c.id == action.id).values(**values))


def _messages(conn: Connection) -> set[str]:
    return set(conn.execute(select(outbox_table.c.action)).scalars())


def test_old_bookkeeping_goes_pending_unsent_and_young_rows_stay(container: Container) -> None:
    now = container.clock.now()
    with container.engine.begin() as conn:
        for name, status, days in (("fired-old", "done", 40), ("fired-young", "done", 20),
                                   ("pending-overdue", "pending", 400), ("pending-due", "pending", -3),
                                   ("cancelled-old", "cancelled", 40), ("cancelled-young", "cancelled", 2),
                                   ("failed-old", "failed", 100), ("failed-young", "failed", 40)):
            _timer(conn, name, status, now, days * DAY)
        for name, state, days in (("sent-old", Status.SENT, 400), ("sent-young", Status.SENT, 300),
                                  ("pending-old", Status.PENDING, 500), ("sending-old", Status.SENDING, 500),
                                  ("dead-old", Status.DEAD, 100), ("dead-young", Status.DEAD, 30),
                                  ("cancelled-old", Status.CANCELLED, 100), ("cancelled-young", Status.CANCELLED, 5)):
            _message(conn, name, state, now, days * DAY)
    expected = {"fired_timers": 1, "cancelled_timers": 1, "failed_timers": 1, "sent_messages": 1,
                "cancelled_messages": 1, "dead_messages": 1, "ended_sessions": 0}

    assert housekeeping.run(container, dry_run=True) == expected
    with read(container.engine) as conn:
        assert len(_timer_keys(conn)) == 8 and len(_messages(conn)) == 8, "a dry run deletes nothing"
    assert housekeeping.run(container) == expected
    with read(container.engine) as conn:
        assert _timer_keys(conn) == {"fired-young", "pending-overdue", "pending-due", "cancelled-young",
                                     "failed-young"}
        assert _messages(conn) == {"sent-young", "pending-old", "sending-old", "dead-young", "cancelled-young"}
    assert set(housekeeping.run(container).values()) == {0}


def test_ended_and_expired_console_sessions_go_live_ones_stay(container: Container) -> None:
    now = container.clock.now()
    with container.engine.begin() as conn:
        user = users.create_user(conn, "anna", Role.AGENT, "a long enough password 1", now - 90 * DAY)
        ended = users.start_session(conn, user, now - 60 * DAY)
        users.end_session(conn, ended.id, now - 60 * DAY)
        expired = users.start_session(conn, user, now - 45 * DAY)
        recently_ended = users.start_session(conn, user, now - 10 * DAY)
        users.end_session(conn, recently_ended.id, now - 10 * DAY)
        live = users.start_session(conn, user, now)
    assert housekeeping.run(container, dry_run=True)["ended_sessions"] == 2
    assert housekeeping.run(container)["ended_sessions"] == 2
    with read(container.engine) as conn:
        left = set(conn.execute(select(console_sessions.c.id)).scalars())
        assert users.find_session(conn, live.id, now) is not None
    assert left == {recently_ended.id, live.id} and expired.id not in left


def test_the_bank_s_ages_apply_and_keep_turns_a_kind_off(container: Container) -> None:
    now = container.clock.now()
    with container.engine.begin() as conn:
        _timer(conn, "fired-10-days", "done", now, 10 * DAY)
        _timer(conn, "fired-3-days", "done", now, 3 * DAY)
        _message(conn, "sent-long-ago", Status.SENT, now, 3000 * DAY)
    policy = housekeeping.parse_policy({"housekeeping": {"fired_timers": "1 week", "sent_messages": "keep"}})
    assert housekeeping.purge(container.engine, policy, now)["fired_timers"] == 1
    assert "sent_messages" not in housekeeping.purge(container.engine, policy, now)
    with read(container.engine) as conn:
        assert _timer_keys(conn) == {"fired-3-days"} and _messages(conn) == {"sent-long-ago"}


def test_a_backlog_goes_in_batches(container: Container) -> None:
    now = container.clock.now()
    with container.engine.begin() as conn:
        for i in range(10):
            _timer(conn, f"fired-{i}", "done", now, 40 * DAY)
    kind = next(k for k in housekeeping.KINDS if k.name == "fired_timers")
    with container.engine.begin() as conn:
        assert housekeeping.delete_batch(conn, kind, now - 30 * DAY, limit=4) == 4
    statements: list[str] = []

    @event.listens_for(container.engine, "before_cursor_execute")
    def _seen(_c: object, _cur: object, statement: str, *_a: object) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            statements.append(statement)

    assert housekeeping.purge(container.engine, {"fired_timers": housekeeping.Age(30, "day")}, now,
                              limit=4) == {"fired_timers": 6}
    event.remove(container.engine, "before_cursor_execute", _seen)
    assert len(statements) == 2, "6 rows in batches of 4: two deletes, the second one short"
    with read(container.engine) as conn:
        assert _timer_keys(conn) == set()


def _bank_with(tmp_path: Path, housekeeping_yaml: str) -> Path:
    config = tmp_path / "bank"
    shutil.copytree(DEMO_CONFIG_DIR, config)
    (config / "retention.yaml").write_text("events:\n  page: 13 months\n" + housekeeping_yaml, encoding="utf-8")
    return config


def test_the_daily_run_purges_a_backlog_as_a_chain_of_timers(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(housekeeping, "BATCH", 3)
    start = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    clock = VirtualClock(start)
    config = _bank_with(tmp_path, "housekeeping:\n  fired_timers: 30 days\n")
    container = build(Settings(database_url=db_url, environment="test", var_dir=tmp_path / "var",
                               config_dir=config), clock=clock, configure_logging=False)
    try:
        with container.engine.begin() as conn:
            for i in range(7):
                _timer(conn, f"old-{i}", "done", start, 40 * DAY)
            _timer(conn, "young", "done", start, 20 * DAY)
            _timer(conn, "waiting", "pending", start, -30 * DAY)
            retention.install_timer(container)
            retention.schedule_next(conn, start)
        clock.advance_to(datetime(2026, 3, 11, 3, 0, 1, tzinfo=retention.ROME))
        links = 0
        while True:
            links += container.service("timers").fire_due()
            with read(container.engine) as conn:
                chain = timers.pending(conn, housekeeping.TIMER_KIND)
            if not chain:
                break
            assert chain[0].payload["totals"]["fired_timers"] == 3 * links
            clock.advance_to(clock.now() + housekeeping.AGAIN)
        with read(container.engine) as conn:
            left = {k for k in _timer_keys(conn) if k is not None}
        assert left == {"young", "waiting", f"{retention.TIMER_KIND}:2026-03-11", f"{retention.TIMER_KIND}:2026-03-12"}
        assert links == 3, "7 old timers in batches of 3: the daily run, then two housekeeping timers"
    finally:
        container.dispose()


def test_the_command_reports_housekeeping_counts_per_kind(container: Container) -> None:
    now = container.clock.now()
    with container.engine.begin() as conn:
        _timer(conn, "fired-old", "done", now, 40 * DAY)
        _message(conn, "sent-old", Status.SENT, now, 500 * DAY)
    url = container.settings.database_url
    dry = json.loads(run_cli(url, "privacy", "retention", "--dry-run"))
    assert dry["housekeeping"]["fired_timers"] == 1 and dry["housekeeping"]["sent_messages"] == 1
    assert dry["housekeeping"]["cancelled_timers"] == 0 and dry["would_delete"]["page"] == 0
    done = json.loads(run_cli(url, "privacy", "retention"))
    assert done["dry_run"] is False and done["housekeeping"]["fired_timers"] == 1
    assert json.loads(run_cli(url, "privacy", "retention"))["housekeeping"]["fired_timers"] == 0


def test_the_endpoint_reports_housekeeping_counts_per_kind(container: Container) -> None:
    from fastapi.testclient import TestClient

    from bestnext.access import store as keys
    from bestnext.api.app import create_app

    now = container.clock.now()
    with container.engine.begin() as conn:
        _timer(conn, "fired-old", "done", now, 40 * DAY)
        _timer(conn, "fired-young", "done", now, 2 * DAY)
        secret = keys.create_key(conn, "compliance", Role.COMPLIANCE, now)[1]
    container.settings.run_workers = False
    auth = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(container)) as client:
        dry = client.post("/v1/privacy/retention", params={"dry_run": True}, headers=auth)
        assert dry.status_code == 200 and dry.json()["housekeeping"]["fired_timers"] == 1
        done = client.post("/v1/privacy/retention", headers=auth).json()
    assert done["dry_run"] is False and done["housekeeping"]["fired_timers"] == 1
    with read(container.engine) as conn:
        assert _timer_keys(conn) == {"fired-young"}
