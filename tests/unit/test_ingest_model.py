"""Pure rules of collection: validation, clock skew, stable ids, limits, wire decoding."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bestnext.errors import InvalidInput, PayloadTooLarge
from bestnext.ingest import cloudevents, wire
from bestnext.ingest.importer import nest
from bestnext.ingest.model import Invalid, Limits, Source, content_id, corrected_timestamp, to_event, validate

SRC = Source("src-1", "web", "web", datetime(2025, 1, 1, tzinfo=UTC))
NOW = datetime(2025, 2, 21, 10, 40, tzinfo=UTC)


def field_of(message: object, **kw: object) -> str:
    with pytest.raises(Invalid) as caught:
        to_event(message, SRC, NOW, **kw)  # type: ignore[arg-type]
    return caught.value.field


@pytest.mark.parametrize(("message", "field"), [
    ({"type": "track", "event": "X"}, "userId"),
    ({"type": "track", "userId": "u"}, "event"),
    ({"type": "track", "userId": "u", "event": 3}, "event"),
    ({"type": "group", "userId": "u"}, "groupId"),
    ({"type": "alias", "previousId": "a"}, "userId"),
    ({"type": "alias", "userId": "u"}, "previousId"),
    ({"type": "fly", "userId": "u"}, "type"),
    ({"type": "identify", "userId": True}, "userId"),
    ({"type": "identify", "userId": "u" * 201}, "userId"),
    ({"type": "identify", "userId": "u", "traits": []}, "traits"),
    ({"type": "identify", "userId": "u", "timestamp": 1700000000}, "timestamp"),
    ({"type": "identify", "userId": "u", "sentAt": "soon"}, "sentAt"),
    ({"type": "identify", "userId": "u", "context": {"touchpoint": 7}}, "context.touchpoint"),
    ([], ""),
])
def test_invalid_messages_name_their_field(message: object, field: str) -> None:
    assert field_of(message) == field


def test_valid_types_and_ids() -> None:
    assert to_event({"type": "alias", "userId": "C1", "previousId": "a1"}, SRC, NOW).user_id == "C1"
    assert to_event({"type": "group", "anonymousId": "a", "groupId": "h1"}, SRC, NOW).type == "group"
    assert to_event({"type": "identify", "userId": 12345}, SRC, NOW).user_id == "12345"
    page = to_event({"type": "page", "anonymousId": "a", "name": "Home"}, SRC, NOW)
    assert (page.event, page.occurred_at) == ("Home", NOW)  # no timestamp: when received


def test_endpoint_type_is_forced() -> None:
    assert to_event({"userId": "u", "event": "E"}, SRC, NOW, forced_type="track").type == "track"
    assert field_of({"type": "identify", "userId": "u"}, forced_type="track") == "type"


def test_message_size_limit() -> None:
    big = {"type": "identify", "userId": "u", "traits": {"x": "y" * 2000}}
    with pytest.raises(Invalid) as caught:
        to_event(big, SRC, NOW, limits=Limits(message_bytes=1024))
    assert caught.value.too_large


def test_skew_correction_uses_message_then_batch_sent_at() -> None:
    ts = NOW - timedelta(minutes=10)
    sent = NOW + timedelta(hours=2)  # device clock two hours fast
    message = {"type": "track", "userId": "u", "event": "E", "timestamp": ts.isoformat()}
    assert to_event(message, SRC, NOW, batch_sent_at=sent).occurred_at == ts - timedelta(hours=2)
    own = {**message, "sentAt": (NOW + timedelta(hours=1)).isoformat()}
    assert to_event(own, SRC, NOW, batch_sent_at=sent).occurred_at == ts - timedelta(hours=1)


@given(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6))
def test_skew_correction_preserves_the_gap_to_sending(ts_offset: int, skew: int) -> None:
    ts = NOW + timedelta(seconds=ts_offset)
    sent = ts + timedelta(seconds=skew)
    assert NOW - corrected_timestamp(ts, sent, NOW) == sent - ts


@given(st.dictionaries(st.sampled_from(["userId", "event", "type", "properties"]),
                       st.text(max_size=5), min_size=1))
def test_content_id_ignores_key_order_and_sent_at(message: dict[str, str]) -> None:
    reordered = dict(reversed(list(message.items())))
    assert content_id(message) == content_id({**reordered, "sentAt": "x", "writeKey": "k"})


def test_validate_counts_repeats_within_a_request() -> None:
    msg = {"type": "track", "userId": "u", "event": "E", "messageId": "m"}
    events, errors, repeated = validate([msg, msg, {"type": "track"}], SRC, NOW)
    assert (len(events), repeated, [e.index for e in errors]) == (1, 1, [2])


def test_wire_limits_and_gzip() -> None:
    with pytest.raises(PayloadTooLarge):
        wire.decode_body(b"[" + b" " * 200 + b"]", None, 100)
    with pytest.raises(PayloadTooLarge):
        wire.decode_body(gzip.compress(b"[" + b" " * 10_000 + b"]"), "gzip", 100)
    with pytest.raises(InvalidInput):
        wire.decode_body(b"not gzip", "gzip", 100)
    with pytest.raises(InvalidInput):
        wire.decode_body(b"{nope", None, 100)
    with pytest.raises(InvalidInput):
        wire.decode_body(b"{}", "br", 100)


def test_batch_level_context_applies_to_messages_without_one() -> None:
    messages, sent = wire.batch_of({"batch": [{"a": 1}, {"context": {"x": 1}}], "context": {"y": 2},
                                    "sentAt": "2025-01-01T00:00:00Z"})
    assert messages == [{"context": {"y": 2}, "a": 1}, {"context": {"x": 1}}]
    assert sent == datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        wire.batch_of({"batch": {}})


def test_write_key_locations() -> None:
    assert wire.body_write_key({"writeKey": "k"}) == "k"
    assert wire.body_write_key({"batch": [{"writeKey": "k2"}]}) == "k2"
    assert wire.bearer("Bearer abc") == "abc"
    with pytest.raises(InvalidInput):
        wire.basic_user("Basic !!!")


def test_cloudevent_mapping_and_errors() -> None:
    messages, indices, errors = cloudevents.to_messages([
        {"specversion": "1.0", "id": "1", "source": "s", "type": "T", "data": [1, 2], "anonymousid": "a"},
        {"specversion": "1.0", "source": "s", "type": "T"},
        {"specversion": "1.0", "id": "3", "source": "s", "type": "T", "data_base64": "AA=="},
    ])
    assert indices == [0] and messages[0]["properties"] == {"data": [1, 2]}
    assert [(e.index, e.field) for e in errors] == [(1, "id"), (2, "data_base64")]


def test_nest_refuses_clashing_columns() -> None:
    with pytest.raises(ValueError, match="clashes"):
        nest({"properties": "x", "properties.a": "y"})
