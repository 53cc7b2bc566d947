"""The outbox and the dispatcher on real SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from bestnext.bootstrap import Container
from bestnext.channels import outbox
from bestnext.channels.model import OutboundAction, OutboxRow, Status, Verdict
from bestnext.channels.providers import SandboxProvider, WebhookProvider
from bestnext.channels.wiring import dispatcher
from bestnext.eventlog.tables import events
from tests.integration.channels.conftest import T0, clock_of
from tests.support.provider_sink import ProviderSink


def allow(_conn: object, _row: OutboxRow, _at: object) -> Verdict:
    return Verdict.send()


def address(_conn: object, person_id: str, channel: str) -> str:
    return f"{person_id}@example.org" if channel == "email" else f"device-{person_id}"


def act(channel: str = "email", purpose: str = "service", due=T0, person: str = "p-1", **kw: object) -> OutboundAction:
    return OutboundAction(person_id=person, channel=channel, purpose=purpose, action="answer_request",
                          due_at=due, text="Ciao, ecco la risposta.", **kw)  # type: ignore[arg-type]


def test_enqueue_is_idempotent_and_part_of_the_callers_transaction(vcontainer: Container) -> None:
    a = act()
    with vcontainer.engine.begin() as conn:
        assert outbox.enqueue(conn, a) is True
        assert outbox.enqueue(conn, a) is False
    with pytest.raises(RuntimeError), vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, act())
        raise RuntimeError("the step failed")
    with vcontainer.engine.begin() as conn:
        assert outbox.status(conn).depth == 1
        assert outbox.get(conn, a.id).status is Status.PENDING  # type: ignore[union-attr]


def test_sandbox_sends_at_due_time_and_writes_the_timeline(vcontainer: Container) -> None:
    sandbox = SandboxProvider()
    d = dispatcher(vcontainer, chosen={"email": sandbox}, gate=allow, resolver=address)
    later = act(due=T0 + timedelta(hours=2), based_on=("m-1", "m-2"), journey="lead_nurture")
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, later)
        assert outbox.next_due_at(conn) == later.due_at
    assert d.run_until_idle() == 0
    clock_of(vcontainer).advance_to(later.due_at)
    assert d.run_until_idle() == 1
    assert sandbox.delivered == [later.id]
    with vcontainer.engine.begin() as conn:
        sent = outbox.sent_actions(conn, T0, T0 + timedelta(days=1))
        assert [(r.action.id, r.sent_at, r.action.based_on) for r in sent] == [
            (later.id, later.due_at, ("m-1", "m-2"))]
        logged = conn.execute(select(events).where(events.c.source_id == "channels")).mappings().all()
        assert outbox.next_due_at(conn) is None
    assert [(e["event"], e["person_id"]) for e in logged] == [("Email Sent", "p-1")]
    assert logged[0]["payload"]["properties"]["journey"] == "lead_nurture"
    assert d.run_until_idle() == 0  # nothing is sent twice


def test_failures_back_off_then_dead_letter_then_redrive(vcontainer: Container) -> None:
    with ProviderSink(fail_first=100) as sink:
        import httpx

        provider = WebhookProvider(httpx.Client(), sink.url + "/push", "s3cret")
        d = dispatcher(vcontainer, chosen={"push": provider}, gate=allow, resolver=address)
        d.config = d.config.model_copy(update={"dispatch": d.config.dispatch.model_copy(
            update={"max_attempts": 3, "backoff_base_seconds": 60, "backoff_cap_seconds": 600})})
        a = act(channel="push")
        with vcontainer.engine.begin() as conn:
            outbox.enqueue(conn, a)
        clock = clock_of(vcontainer)
        waits = []
        for _ in range(3):
            assert d.run_once() == 1
            with vcontainer.engine.begin() as conn:
                row = outbox.get(conn, a.id)
            assert row is not None and row.last_error == "http 503"
            if row.status is Status.DEAD:
                break
            waits.append((row.next_attempt_at - clock.now()).total_seconds())
            assert d.run_once() == 0  # not before the backoff
            clock.advance_to(row.next_attempt_at)
        assert row.status is Status.DEAD and row.attempts == 3
        assert 30 <= waits[0] <= 60 and 60 <= waits[1] <= 120  # exponential with jitter
        sink.state.fail_first = 0
        with vcontainer.engine.begin() as conn:
            assert outbox.status(conn).failures == {"push": 3}
            assert outbox.redrive(conn, clock.now()) == 1
        assert d.run_once() == 1
        with vcontainer.engine.begin() as conn:
            assert outbox.get(conn, a.id).status is Status.SENT  # type: ignore[union-attr]
        assert list(sink.state.delivered()) == [a.id]


def test_a_permanent_error_goes_straight_to_dead(vcontainer: Container) -> None:
    d = dispatcher(vcontainer, chosen={}, gate=allow, resolver=address)
    a = act(channel="push")
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, a)
    d.run_once()
    with vcontainer.engine.begin() as conn:
        row = outbox.get(conn, a.id)
    assert row is not None and row.status is Status.DEAD and row.last_error == "no provider for push"


def test_an_expired_lease_is_reclaimed_and_the_provider_dedupes(vcontainer: Container) -> None:
    import httpx

    with ProviderSink() as sink:
        provider = WebhookProvider(httpx.Client(), sink.url + "/push", "s3cret")
        a = act(channel="push")
        with vcontainer.engine.begin() as conn:
            outbox.enqueue(conn, a)
            [claimed] = outbox.claim(conn, "worker-a", T0, 10, timedelta(seconds=60))
        # worker A reaches the provider, then dies before recording the send
        provider.send(d_render(claimed), claimed.action.id)
        d = dispatcher(vcontainer, chosen={"push": provider}, gate=allow, resolver=address)
        assert d.run_once() == 0  # A's lease still holds
        clock_of(vcontainer).advance_to(T0 + timedelta(seconds=61))
        assert d.run_once() == 1
        with vcontainer.engine.begin() as conn:
            row = outbox.get(conn, a.id)
            assert outbox.mark_sent(conn, a.id, "worker-a", T0, "late") is False  # A lost its lease
        assert row is not None and row.status is Status.SENT and row.attempts == 2
        assert list(sink.state.delivered()) == [a.id] and sink.state.duplicates == 1


def d_render(row: OutboxRow):  # type: ignore[no-untyped-def]
    from bestnext.channels.render import render

    return render(row.action, "device-x", T0, base_url="http://x", secret_key="k")


class SlowSandbox(SandboxProvider):
    """The sandbox, taking a few milliseconds per message like a real provider call."""

    def send(self, message, idempotency_key):  # type: ignore[no-untyped-def]
        import time

        time.sleep(0.005)
        return super().send(message, idempotency_key)


def test_concurrent_dispatchers_never_send_an_action_twice(vcontainer: Container) -> None:
    actions = [act(channel="push", person=f"p-{i}") for i in range(120)]
    with vcontainer.engine.begin() as conn:
        for a in actions:
            outbox.enqueue(conn, a)
    sandboxes = [SlowSandbox() for _ in range(3)]
    workers = [dispatcher(vcontainer, chosen={"push": s}, gate=allow, resolver=address) for s in sandboxes]
    for w in workers:
        w.config = w.config.model_copy(update={"dispatch": w.config.dispatch.model_copy(update={"batch_size": 7})})
    threads = [threading.Thread(target=w.run_until_idle) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    sent = [k for s in sandboxes for k in s.delivered]
    assert sorted(sent) == sorted(a.id for a in actions)
    assert sum(1 for s in sandboxes if s.delivered) >= 2  # the work was really shared
    with vcontainer.engine.begin() as conn:
        assert outbox.status(conn).by_channel == {"push": {"sent": 120}}


def test_status_reports_depth_and_oldest(vcontainer: Container) -> None:
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, act(due=T0 - timedelta(minutes=5)))
        outbox.enqueue(conn, act(channel="sms"))
        state = outbox.status(conn)
    assert state.depth == 2 and state.oldest_pending_due_at == T0 - timedelta(minutes=5)
    assert state.by_channel == {"email": {"pending": 1}, "sms": {"pending": 1}}


def test_an_action_postponed_too_long_is_cancelled_as_expired(vcontainer: Container) -> None:
    def never_now(_conn: object, row: OutboxRow, at: object) -> Verdict:
        return Verdict("reschedule", ("marketing_budget",), row.action.due_at + timedelta(days=8))

    sandbox = SandboxProvider()
    d = dispatcher(vcontainer, chosen={"email": sandbox}, gate=never_now, resolver=address)
    a = act()
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, a)
    d.run_until_idle()
    with vcontainer.engine.begin() as conn:
        row = outbox.get(conn, a.id)
    assert row is not None and row.status is Status.CANCELLED
    assert row.last_error == "cancelled: expired,marketing_budget" and sandbox.delivered == []
