"""Prometheus metrics of identity resolution (served on the application's ``/metrics``)."""

from prometheus_client import Counter, Histogram

EVENTS = Counter("bestnext_identity_events_total", "Events attributed to a person.")
MERGES = Counter("bestnext_identity_merges_total", "Persons merged into another.")
CONFLICTS = Counter("bestnext_identity_conflicts_total", "Links refused by a guard, by kind.", ["kind"])
BATCH = Histogram("bestnext_identity_batch_seconds", "Time to resolve one batch of the log.",
                  buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
