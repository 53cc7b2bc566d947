"""Prometheus metrics of the outbox: sends and failures by channel (counters, per process) and
queue depth / age of the oldest pending action (read from the database at scrape time)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bestnext.clock import Clock
from bestnext.db import read

SENT = Counter("bestnext_outbox_sent", "Actions sent, by channel", ["channel"])
FAILED = Counter("bestnext_outbox_failed", "Failed send attempts, by channel", ["channel"])


class OutboxCollector(Collector):
    """Reads the queue's state from the database on each scrape."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine, self.clock = engine, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from bestnext.channels import outbox

        try:
            with read(self.engine) as conn:
                state = outbox.status(conn)
        except SQLAlchemyError:  # a scrape must not fail because the database is away
            yield GaugeMetricFamily("bestnext_outbox_up", "Whether the outbox could be read", value=0)
            return
        yield GaugeMetricFamily("bestnext_outbox_up", "Whether the outbox could be read", value=1)
        yield GaugeMetricFamily("bestnext_outbox_depth", "Actions pending or being sent", value=state.depth)
        yield GaugeMetricFamily("bestnext_outbox_oldest_pending_age_seconds",
                                "Age of the oldest pending action (0 when none)",
                                value=_age(state.oldest_pending_due_at, self.clock.now()))
        by_status = GaugeMetricFamily("bestnext_outbox_actions", "Actions by channel and status",
                                      labels=["channel", "status"])
        for channel, counts in sorted(state.by_channel.items()):
            for status, n in sorted(counts.items()):
                by_status.add_metric([channel, status], n)
        yield by_status
        failed = GaugeMetricFamily("bestnext_outbox_failed_attempts", "Failed send attempts recorded in "
                                   "the outbox, by channel", labels=["channel"])
        for channel, n in sorted(state.failures.items()):
            failed.add_metric([channel], n)
        yield failed


def _age(oldest: datetime | None, now: datetime) -> float:
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


_installed: list[OutboxCollector] = []


def install(engine: Engine, clock: Clock) -> None:
    """Register the collector for this process's engine (replacing an earlier one)."""
    while _installed:
        REGISTRY.unregister(_installed.pop())
    collector = OutboxCollector(engine, clock)
    REGISTRY.register(collector)
    _installed.append(collector)
