"""Prometheus metrics of collection (served on the application's ``/metrics``)."""

from prometheus_client import Counter, Histogram

MESSAGES = Counter("bestnext_ingest_messages_total", "Messages received, by outcome.", ["outcome"])
ACCEPTED = MESSAGES.labels("accepted")
DUPLICATES = MESSAGES.labels("duplicate")
REJECTED = MESSAGES.labels("rejected")
LATENCY = Histogram(
    "bestnext_ingest_seconds", "Time to validate and durably store one request or file chunk.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
