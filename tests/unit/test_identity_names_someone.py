"""``names_someone`` (what the profiles processor asks of every event) says what ``extract``
would say, for any message."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bestnext.identity.model import CONTACT_TYPES, extract, names_someone

_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**12), st.sampled_from(
    ["", "  ", "C1", " A@X.IT ", "not-an-email", "3471112233", "+39 347-111-2233", "abc", "x" * 400]))
_maps = st.fixed_dictionaries({}, optional={"email": _values, "phone": _values, "first_name": _values})
_external = st.lists(st.fixed_dictionaries({"id": _values}, optional={
    "type": st.sampled_from(["facebook_id", "dmp_cookie", " Instagram_ID ", "", 7])}), max_size=3)
_messages = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["track", "identify", "alias", "group", "page"]),
    "userId": _values, "anonymousId": _values, "previousId": _values,
    "traits": st.one_of(_maps, st.just("traits")),
    "context": st.one_of(st.fixed_dictionaries({}, optional={"traits": _maps, "externalIds": _external}),
                         st.just([]))})


@given(_messages)
def test_names_someone_agrees_with_extract(message: dict[str, Any]) -> None:
    found = extract(message)
    assert names_someone(message) == (bool(found), any(i.type in CONTACT_TYPES for i in found))
