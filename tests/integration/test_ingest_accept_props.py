"""Properties of `accept` for any mix of messages (real SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bestnext.bootstrap import Container
from bestnext.eventlog import store as eventlog
from bestnext.ingest import services

_run = itertools.count()
messages = st.lists(st.one_of(
    st.fixed_dictionaries({"type": st.just("track"), "event": st.sampled_from(["A", "B", ""]),
                           "userId": st.sampled_from(["C1", "C2", None]),
                           "messageId": st.sampled_from(["m1", "m2", "m3", "m4"])}),
    st.fixed_dictionaries({"type": st.sampled_from(["identify", "page", "alias", "nope"]),
                           "anonymousId": st.sampled_from(["a1", "a2"])}),
    st.integers(),
), max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=messages)
def test_every_message_is_accepted_duplicate_or_rejected_and_a_resend_stores_nothing(
        container: Container, batch: list[object]) -> None:
    now = container.clock.now()
    with container.engine.begin() as conn:
        source = services.ensure_source(conn, f"prop-{next(_run)}", "web", now)
        first = services.accept(conn, source, batch, now)
    assert first.accepted + first.duplicates + first.rejected == len(batch)
    assert sorted(e.index for e in first.errors) == [e.index for e in first.errors]
    with container.engine.begin() as conn:
        again = services.accept(conn, source, batch, now)
        stored = [e for e in eventlog.read_after(conn, 0, 100_000) if e.source_id == source.id]
    assert again.accepted == 0
    assert again.duplicates == first.accepted + first.duplicates
    assert len(stored) == first.accepted == len(set(stored_id.message_id for stored_id in stored))
