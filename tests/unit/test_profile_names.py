"""Names as the console's search indexes them: prefix ranges and words (properties)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bestnext.profiles.names import normalise, prefix_range, terms, words

# letters a name has, edge code points around the surrogates and at the top of Unicode
_CHARS = st.one_of(st.sampled_from("abcmnrsz'-. àé"), st.sampled_from(["\ud7ff", "\ue000", "\U0010ffff"]),
                   st.characters(blacklist_categories=("Cs",)))


@given(st.text(_CHARS, min_size=1, max_size=4).filter(lambda p: p.strip("\U0010ffff")),
       st.text(_CHARS, max_size=8))
def test_a_word_is_in_the_prefix_range_exactly_when_it_starts_with_the_prefix(prefix: str, word: str) -> None:
    lo, hi = prefix_range(prefix)
    assert (lo <= word < hi) == word.startswith(prefix)
    assert (lo <= prefix + word < hi)
    hi.encode()  # storable: no surrogate


@given(st.text(_CHARS, max_size=30))
def test_terms_are_normalised_distinct_words_of_the_name(name: str) -> None:
    found = terms(name)
    assert len(found) == len(set(found))
    for term in found:
        assert term and term == normalise(term) and " " not in term and term in words(name)
