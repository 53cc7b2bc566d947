"""Searching people by identifier or by name: the pure half (no I/O).

The database finds the candidates through indexes (:func:`bestnext.console.people.search_people`):
an identifier by its exact normalised value (:func:`identifier_forms`), a name by the words
that start like the query's words. This module says which words of the index a query word
matches (exactly, as a prefix, or with a typo after its first three letters) and ranks the
candidates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from bestnext.identity.model import normalize_email, normalize_phone
from bestnext.profiles.names import normalise, words

__all__ = ["Match", "edit_distance", "identifier_forms", "name_score", "normalise", "query_words",
           "rank", "word_matches", "word_score"]

MIN_SCORE = 0.5
_PHONE_LIKE = re.compile(r"\+?[\d\s\-().]{6,}")
STEM = 3  # a query word's letters that must be right: the index is searched by this prefix


@dataclass(frozen=True, slots=True)
class Match:
    """A person found, with the best-matching text and its score in [0, 1]."""

    person_id: str
    kind: str
    text: str
    score: float


def identifier_forms(query: str) -> list[str]:
    """The values an identifier typed as ``query`` may be stored as (email lower-case, phone
    E.164, anything else as typed, or in lower or upper case: customer numbers).

    >>> identifier_forms(" Martina.Bianchi@Example.org ")
    ['Martina.Bianchi@Example.org', 'martina.bianchi@example.org', 'MARTINA.BIANCHI@EXAMPLE.ORG']
    >>> identifier_forms("347 111 2233")
    ['347 111 2233', '+393471112233']
    >>> identifier_forms("c-100234")
    ['c-100234', 'C-100234']
    """
    typed = query.strip()
    forms = [typed, typed.lower(), typed.upper(), normalize_email(typed)]
    if _PHONE_LIKE.fullmatch(typed):
        forms.append(normalize_phone(typed))
    return [f for f in dict.fromkeys(forms) if f]


def query_words(query: str) -> list[str]:
    """The words of a name query, longest (most selective) first; none for an identifier-like
    query (an email, a phone number, a customer number).

    >>> query_words("Martina  BIANKI"), query_words("a@b.it"), query_words("347 111 2233")
    (['martina', 'bianki'], [], [])
    """
    if "@" in query or any(c.isdigit() for c in query):
        return []
    return sorted(dict.fromkeys(words(query)), key=len, reverse=True)


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap neighbours).

    >>> edit_distance("bianchi", "bianki"), edit_distance("martina", "marina"), edit_distance("ab", "ba")
    (2, 1, 1)
    """
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


@lru_cache(maxsize=262_144)
def word_score(token: str, word: str) -> float:
    """How well one query word matches one word of a name.

    >>> word_score("bianchi", "bianchi"), word_score("bia", "bianchi"), word_score("bianki", "bianchi")
    (1.0, 0.9, 0.76)
    """
    if word == token:
        return 1.0
    if len(token) >= STEM and word.startswith(token):
        return 0.9
    allowed = 0 if len(token) < 4 else (1 if len(token) < 6 else 2)
    if allowed == 0 or abs(len(token) - len(word)) > allowed:
        return 0.0
    distance = edit_distance(token, word)
    return round(1.0 - 0.12 * distance, 3) if distance <= allowed else 0.0


def word_matches(token: str, vocabulary: Iterable[str]) -> dict[str, float]:
    """The words of ``vocabulary`` that ``token`` matches, with their scores.

    >>> word_matches("bianki", ["bianchi", "bianco", "biagio"])
    {'bianchi': 0.76, 'bianco': 0.76}
    """
    scored = {word: word_score(token, word) for word in vocabulary}
    return {word: score for word, score in scored.items() if score > 0}


def name_score(tokens: list[str], name: str) -> float:
    """How well a name matches: every query word must match a word of the name.

    >>> round(name_score(["martina", "bianki"], "Martina Bianchi"), 2)
    0.88
    >>> name_score(["giorgio"], "Martina Bianchi")
    0.0
    """
    name_words = words(name)
    if not tokens or not name_words:
        return 0.0
    scores = [max(word_score(t, w) for w in name_words) for t in tokens]
    return 0.0 if min(scores) == 0 else sum(scores) / len(scores)


def rank(tokens: list[str], named: Mapping[str, str], found: Iterable[Match] = (),
         limit: int = 20, min_score: float = MIN_SCORE) -> list[Match]:
    """The people found, best first: the identifier matches ``found`` and the persons ``named``
    (id -> display name) scored against the query's words; one match per person.

    >>> rank(["martina", "bianki"], {"p1": "Martina Bianchi", "p2": "Marina Bianco"})
    [Match(person_id='p1', kind='name', text='Martina Bianchi', score=0.88), \
Match(person_id='p2', kind='name', text='Marina Bianco', score=0.82)]
    """
    best: dict[str, Match] = {}
    scored = [Match(pid, "name", name, round(name_score(tokens, name), 3)) for pid, name in named.items()]
    for m in [*found, *scored]:
        if m.score >= min_score and (m.person_id not in best or m.score > best[m.person_id].score):
            best[m.person_id] = m
    return sorted(best.values(), key=lambda m: (-m.score, m.text, m.person_id))[:limit]
