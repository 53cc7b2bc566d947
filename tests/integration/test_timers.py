"""Durable timers on SQLite and PostgreSQL: fired once, in order, retried, surviving a crash."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection

from bestnext.bootstrap import Container, build
from bestnext.clock import VirtualClock
from bestnext.db import read
from bestnext.migrate import upgrade
from bestnext.settings import Settings
from bestnext.timers import store
from bestnext.timers.model import Timer
from bestnext.timers.service import TimerLoop, TimerService

T0 = datetime(2025, 2, 26, 20, 0, tzinfo=UTC)


@pytest.fixture
def vclock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def service(container: Container, vclock: VirtualClock) -> TimerService:
    upgrade(container.engine)
    return TimerService(container.engine, vclock)


def test_fires_due_timers_once_in_order(service: TimerService, vclock: VirtualClock) -> None:
    fired: list[str] = []
    service.register("t", lambda _c, t: fired.append(t.payload["n"]))
    with service.engine.begin() as conn:
        for n, minutes in (("b", 20), ("a", 10), ("c", 30)):
            store.schedule(conn, "t", T0 + timedelta(minutes=minutes), {"n": n}, now=T0)
    assert service.fire_due() == 0
    assert service.next_due() == T0 + timedelta(minutes=10)
    vclock.advance_to(T0 + timedelta(minutes=25))
    assert service.fire_due() == 2
    assert service.fire_due() == 0
    vclock.advance_to(T0 + timedelta(hours=1))
    service.fire_due()
    assert fired == ["a", "b", "c"]
    assert service.next_due() is None


def test_key_makes_scheduling_idempotent_and_debounce_moves_it(service: TimerService) -> None:
    with service.engine.begin() as conn:
        assert store.schedule(conn, "t", T0, {}, now=T0, key="k1")
        assert not store.schedule(conn, "t", T0, {}, now=T0, key="k1")
        store.reschedule(conn, "k1", T0 + timedelta(minutes=5), {"x": 1}, now=T0, kind="t")
        (timer,) = store.pending(conn)
    assert timer.due_at == T0 + timedelta(minutes=5)
    assert timer.payload == {"x": 1}


def test_failing_handler_is_retried_then_given_up(service: TimerService, vclock: VirtualClock) -> None:
    ok: list[str] = []

    def boom(_conn: Connection, timer: Timer) -> None:
        if timer.payload.get("bad"):
            raise RuntimeError("broken")
        ok.append(timer.id)

    service.register("t", boom)
    with service.engine.begin() as conn:
        store.schedule(conn, "t", T0, {"bad": True}, now=T0)
        store.schedule(conn, "t", T0, {}, now=T0)
    assert service.fire_due() == 1
    for _ in range(6):
        vclock.advance_to(vclock.now() + timedelta(hours=2))
        service.fire_due()
    with read(service.engine) as conn:
        assert store.counts(conn) == {"done": 1, "failed": 1}
    assert len(ok) == 1


def test_crash_before_commit_leaves_timer_pending(service: TimerService) -> None:
    """A handler's effects and the 'done' mark share one transaction: a crash loses neither."""
    calls: list[int] = []

    def crash(_conn: Connection, _t: Timer) -> None:
        calls.append(1)
        raise SystemExit("killed")  # not an Exception: it escapes like a process death

    service.register("t", crash)
    with service.engine.begin() as conn:
        store.schedule(conn, "t", T0, {}, now=T0)
    with pytest.raises(SystemExit):
        service.fire_due()
    fired: list[str] = []
    service.register("t", lambda _c, t: fired.append(t.id))
    assert service.fire_due() == 1
    assert len(fired) == 1 and calls == [1]


def test_two_claimers_fire_each_timer_once(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = Settings(database_url=db_url, environment="test",
                        log_file=tmp_path_factory.mktemp("log") / "l.log")
    clock = VirtualClock(T0 + timedelta(days=1))
    a, b = build(settings, clock), build(settings, clock)
    seen: list[str] = []
    lock = threading.Lock()

    def record(_c: Connection, t: Timer) -> None:
        with lock:
            seen.append(t.id)

    try:
        with a.engine.begin() as conn:
            for i in range(300):
                store.schedule(conn, "t", T0 + timedelta(seconds=i), {}, now=T0)
        services = [TimerService(c.engine, clock, batch_size=7) for c in (a, b)]
        for s in services:
            s.register("t", record)
        threads = [threading.Thread(target=s.fire_due) for s in services]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(seen) == 300 and len(set(seen)) == 300
    finally:
        a.dispose()
        b.dispose()


def test_loop_fires_in_real_time(container: Container) -> None:
    service: TimerService = container.service("timers")
    done = threading.Event()
    service.register("t", lambda _c, _t: done.set())
    loop = TimerLoop(service, poll=0.05)
    loop.start()
    try:
        with container.engine.begin() as conn:
            store.schedule(conn, "t", container.clock.now() + timedelta(milliseconds=200), {},
                           now=container.clock.now())
        assert done.wait(5)
    finally:
        loop.stop()



def test_a_persons_timers_follow_a_merge_and_go_with_their_erasure(service: TimerService) -> None:
    from bestnext.db import metadata
    from bestnext.identity import hooks
    from bestnext.privacy import registry
    from bestnext.privacy import services as privacy

    with service.engine.begin() as conn:
        store.schedule(conn, "t", T0, {"n": "theirs"}, now=T0, person_id="absorbed")
        store.schedule(conn, "t", T0, {"n": "other"}, now=T0, person_id="someone-else")
        store.schedule(conn, "t", T0, {"n": "bank"}, now=T0)
        hooks.merged(conn, "survivor", "absorbed")  # the service registered the timers' listener
        assert _owners(conn) == {"theirs": "survivor", "other": "someone-else", "bank": None}
    privacy.install()
    (covering,) = [c for c in registry.contributors(metadata) if "timers" in c.tables]
    with service.engine.begin() as conn:
        assert [t["payload"]["n"] for t in covering.export(conn, "survivor")["timers"]] == ["theirs"]
        covering.erase(conn, "survivor")
        assert _owners(conn) == {"other": "someone-else", "bank": None}


def _owners(conn: Connection) -> dict[str, str | None]:
    from sqlalchemy import select

    from bestnext.timers.tables import timers

    return {row.payload["n"]: row.person_id for row in conn.execute(select(timers.c.payload, timers.c.person_id))}
