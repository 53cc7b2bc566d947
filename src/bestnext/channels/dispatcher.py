"""Dispatch: claim due actions, ask the gate again, send through the channel's provider and
record the result, each step in its own short transaction.

Exactly once per action id: the claim is a lease; every state change is conditional on still
holding it; the provider receives the action id as idempotency key and deduplicates a re-send
after a crash; the timeline event's message id is derived from the action id (deduplicated by
the event log). Assisted channels (call center, branch) create their task and record the send
in one transaction.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Connection, Engine

from bestnext.channels import assisted, calls, metrics, outbox, ports, timeline
from bestnext.channels.config import ChannelsConfig, OperatorsConfig
from bestnext.channels.model import SENT_EVENTS, OutboxRow, Rendered, SendError, Verdict, backoff, decision_of
from bestnext.channels.ports import Gate, Resolver
from bestnext.channels.providers import Provider
from bestnext.channels.render import render
from bestnext.clock import Clock
from bestnext.db import read

log = structlog.get_logger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Dispatcher:
    engine: Engine
    clock: Clock
    providers: Mapping[str, Provider]
    gate: Gate
    resolver: Resolver
    config: ChannelsConfig
    operators: OperatorsConfig
    secret_key: str
    worker: str = field(default_factory=worker_name)
    rng: random.Random = field(default_factory=random.Random)

    def run_once(self) -> int:
        """Claim one batch and handle it in three short transactions (gate, then send outside
        any transaction, then record); returns how many actions were handled."""
        cfg = self.config.dispatch
        with read(self.engine) as conn:  # idle polls must not take SQLite's write lock
            now = self.clock.now()
            if not outbox.has_due(conn, now) and not calls.has_escalation_due(conn, now):
                return 0
        with self.engine.begin() as conn:
            assisted.escalate(conn, self.clock.now())
            rows = outbox.claim(conn, self.worker, self.clock.now(), cfg.batch_size,
                                timedelta(seconds=cfg.lease_seconds))
        if not rows:
            return 0
        now = self.clock.now()
        with self.engine.begin() as conn:  # the gate loads the whole batch's people at once
            verdicts = ports.verdicts(self.gate, conn, rows, now)
            tracked = ports.tracking_allowed(conn, rows, now)
            prepared = [(row, self._prepare(conn, row, now, v, row.action.id in tracked))
                        for row, v in zip(rows, verdicts, strict=True)]
        outcomes = self._deliver_all([(row, p) for row, p in prepared if p is not None])
        with self.engine.begin() as conn:
            for row, outcome in outcomes:
                if isinstance(outcome, SendError):
                    self._failed(conn, row, outcome)
            self._record_sent_many(conn, [(row, o) for row, o in outcomes if not isinstance(o, SendError)])
        return len(rows)

    def run_until_idle(self) -> int:
        total = 0
        while (n := self.run_once()) > 0:
            total += n
        return total

    def run_forever(self, stop: threading.Event, wake: threading.Event | None = None) -> None:
        """The worker loop: dispatch, then sleep ``poll_seconds`` (or until woken)."""
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the loop must survive a database hiccup; the lease makes it safe
                log.exception("dispatch_failed", worker=self.worker)
                busy = 0
            if not busy:
                (wake or stop).wait(self.config.dispatch.poll_seconds)
                if wake is not None:
                    wake.clear()

    def _prepare(self, conn: Connection, row: OutboxRow, now: datetime, verdict: Verdict,
                 tracked: bool = False) -> Rendered | SendError | None:
        """Follow the gate's verdict: cancel, reschedule or create the assisted task here (None:
        done), else render the message for its provider (or the error that stops it); an email
        is ``tracked`` (pixel, tracked links) only when the person's consent allows it."""
        a = row.action
        if verdict.kind == "cancel":
            outbox.cancel(conn, a.id, self.worker, "cancelled: " + ",".join(verdict.reasons))
            log.info("action_cancelled", action_id=a.id, channel=a.channel, reasons=verdict.reasons)
            return None
        if verdict.kind == "reschedule" and verdict.at is not None:
            if verdict.at - a.due_at > timedelta(hours=self.config.dispatch.max_delay_hours):
                outbox.cancel(conn, a.id, self.worker, "cancelled: expired," + ",".join(verdict.reasons))
                return None
            at = max(verdict.at, now + timedelta(seconds=1))  # always move forward
            outbox.reschedule(conn, a.id, self.worker, at, "rescheduled: " + ",".join(verdict.reasons))
            return None
        opens = self._call_center_opens(now) if a.channel == "call_center" else now
        if opens > now:  # the call is placed when the call center opens: that is its send time
            outbox.reschedule(conn, a.id, self.worker, opens, "rescheduled: call_center_closed")
            return None
        if a.channel in ("call_center", "branch"):
            made = (assisted.call_task_for if a.channel == "call_center" else assisted.briefing_for)(
                conn, a, now, self.operators)
            self._record_sent(conn, row, made)
            return None
        if a.channel not in self.providers:
            return SendError(f"no provider for {a.channel}", permanent=True)
        to = self.resolver(conn, a.person_id, a.channel)
        if to is None:
            return SendError(f"no {a.channel} address for the person", permanent=True)
        return render(a, to, now, base_url=self.config.public_base_url, secret_key=self.secret_key,
                      tracking_allowed=tracked)

    def _call_center_opens(self, now: datetime) -> datetime:
        return assisted.CALENDAR.next_open(now, self.operators.call_center.weekly_hours())

    def _deliver_all(self, prepared: list[tuple[OutboxRow, Rendered | SendError]]) -> list[tuple[OutboxRow, str | SendError]]:
        """Send the rendered messages, outside any transaction; those whose provider speaks
        HTTP (``concurrent_sends``) in parallel, up to ``dispatch.send_concurrency`` at a time."""
        def one(item: tuple[OutboxRow, Rendered | SendError]) -> tuple[OutboxRow, str | SendError]:
            row, p = item
            return row, self._deliver(row, p) if isinstance(p, Rendered) else p

        width = self.config.dispatch.send_concurrency
        parallel = [i for i in prepared if isinstance(i[1], Rendered)
                    and getattr(self.providers.get(i[0].action.channel), "concurrent_sends", False)]
        if width <= 1 or len(parallel) <= 1:
            return [one(i) for i in prepared]
        with ThreadPoolExecutor(min(width, len(parallel))) as pool:
            sent = dict(zip([id(i) for i in parallel], pool.map(one, parallel), strict=True))
        return [sent.get(id(i)) or one(i) for i in prepared]

    def _deliver(self, row: OutboxRow, message: Rendered) -> str | SendError:
        try:
            return self.providers[row.action.channel].send(message, row.action.id)
        except SendError as exc:
            return exc
        except Exception as exc:  # an adapter bug must not wedge the lease loop: retried, then dead
            log.exception("provider_crashed", action_id=row.action.id, channel=row.action.channel)
            return SendError(f"provider error: {type(exc).__name__}")

    def _record_sent(self, conn: Connection, row: OutboxRow, provider_id: str) -> None:
        self._record_sent_many(conn, [(row, provider_id)])

    def _record_sent_many(self, conn: Connection, sends: list[tuple[OutboxRow, str]]) -> None:
        """Mark the actions sent (one statement) and put the sends on the timelines (one append)."""
        now = self.clock.now()
        held = outbox.mark_sent_many(conn, [(r.action.id, p) for r, p in sends], self.worker, now)
        entries: list[timeline.Entry] = []
        for row, provider_id in sends:
            a = row.action
            if a.id not in held:
                log.warning("lease_lost", action_id=a.id, worker=self.worker)
                continue
            entries.append((a.person_id, SENT_EVENTS[a.channel], f"{a.id}:sent", now, a.channel, {
                "action_id": a.id, "action": a.action, "channel": a.channel, "purpose": a.purpose,
                "product": a.product, "offer": a.offer, "journey": a.journey, "based_on": list(a.based_on),
                "assignee": a.assignee, "provider_message_id": provider_id, **decision_of(a.data)}))
            metrics.SENT.labels(a.channel).inc()
        timeline.record_many(conn, entries, now=now)

    def _failed(self, conn: Connection, row: OutboxRow, exc: SendError) -> None:
        cfg = self.config.dispatch
        dead = exc.permanent or row.attempts >= cfg.max_attempts
        retry_at = None if dead else self.clock.now() + timedelta(
            seconds=backoff(row.attempts, self.rng, base=cfg.backoff_base_seconds, cap=cfg.backoff_cap_seconds))
        outbox.mark_failed(conn, row.action.id, self.worker, exc.reason, retry_at)
        metrics.FAILED.labels(row.action.channel).inc()
        log.warning("send_failed", action_id=row.action.id, channel=row.action.channel,
                    reason=exc.reason, attempts=row.attempts, dead=dead)
