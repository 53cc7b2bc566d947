"""Typo-tolerant search of people by name, e-mail, phone, customer number or any identifier.

Pure functions: candidates (a person's identifiers and names) in, ranked matches out. Text is
normalised (case, accents, spaces); phone numbers are compared by their digits; names are
compared token by token with an edit distance, everything else by trigram similarity.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

MIN_SCORE = 0.5
_NON_DIGIT = re.compile(r"\D+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One searchable text of a person: a name or an identifier (``kind`` is its type)."""

    person_id: str
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Match:
    """A person found, with the best-matching text and its score in [0, 1]."""

    person_id: str
    kind: str
    text: str
    score: float


@lru_cache(maxsize=262_144)
def normalise(text: str) -> str:
    """Lower case, without accents, single spaces.

    >>> normalise("  Niccolò   ROSSI ")
    'niccolo rossi'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", plain.casefold()).strip()


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
def trigrams(text: str) -> frozenset[str]:
    """Padded character trigrams (cached: candidates repeat from query to query).

    >>> sorted(trigrams("ab"))
    ['  a', ' ab', 'ab ']
    """
    padded = f"  {text} "
    return frozenset(padded[i:i + 3] for i in range(len(padded) - 2))


def similarity(query: str, text: str) -> float:
    """Trigram similarity (Jaccard) of two normalised strings.

    >>> similarity("abc", "abc")
    1.0
    """
    q, t = trigrams(query), trigrams(text)
    return len(q & t) / len(q | t) if q and t else 0.0


def _token_score(token: str, words: list[str]) -> float:
    return max((_word_score(token, word) for word in words), default=0.0)


@lru_cache(maxsize=262_144)
def _word_score(token: str, word: str) -> float:
    """How well one query word matches one word of a name (cached: names repeat a lot)."""
    if word == token:
        return 1.0
    if len(token) >= 3 and word.startswith(token):
        return 0.9
    allowed = 0 if len(token) < 4 else (1 if len(token) < 6 else 2)
    if allowed == 0 or abs(len(token) - len(word)) > allowed:
        return 0.0
    distance = edit_distance(token, word)
    return 1.0 - 0.12 * distance if distance <= allowed else 0.0


def name_score(query: str, name: str) -> float:
    """How well a name matches: every query word must match a word of the name.

    >>> round(name_score("martina bianki", "martina bianchi"), 2)
    0.88
    >>> name_score("giorgio", "martina bianchi")
    0.0
    """
    tokens, words = query.split(), name.split()
    if not tokens or not words:
        return 0.0
    scores = [_token_score(t, words) for t in tokens]
    return 0.0 if min(scores) == 0 else sum(scores) / len(scores)


def text_score(query: str, kind: str, text: str) -> float:
    """Score of one candidate text (both normalised) for ``query``.

    >>> text_score("347 111 2233", "phone", "+393471112233")
    0.95
    >>> text_score("martina.bianchi@example.org", "email", "martina.bianchi@example.org")
    1.0
    >>> text_score("martina.bianci@example.org", "email", "martina.bianchi@example.org") > 0.6
    True
    """
    if query == text:
        return 1.0
    digits = _NON_DIGIT.sub("", query)
    if kind == "phone":
        if len(digits) < 6:
            return 0.0
        text_digits = _NON_DIGIT.sub("", text)
        if text_digits.endswith(digits) or digits.endswith(text_digits):
            return 0.95
        if len(digits) < 8:
            return 0.0
        return max(0.0, 1.0 - 0.15 * edit_distance(digits, text_digits[-len(digits):]))
    if kind == "name":
        return name_score(query, text)
    if len(query) >= 3 and query in text:
        return 0.85 + 0.1 * len(query) / len(text)
    return similarity(query, text)


def rank(query: str, candidates: Iterable[Candidate], limit: int = 20,
         min_score: float = MIN_SCORE) -> list[Match]:
    """The people matching ``query``, best first (one match per person: their best text).

    >>> people = [Candidate("p1", "name", "Martina Bianchi"), Candidate("p1", "email", "martina.bianchi@example.org"),
    ...           Candidate("p2", "name", "Giorgio Rossi"), Candidate("p3", "user_id", "C-100234")]
    >>> [m.person_id for m in rank("martina bianki", people)]
    ['p1']
    >>> [m.person_id for m in rank("c-100234", people)]
    ['p3']
    >>> rank("  ", people)
    []
    """
    q = normalise(query)
    if not q:
        return []
    best: dict[str, Match] = {}
    for c in candidates:
        score = text_score(q, c.kind, normalise(c.text))
        if score >= min_score and (c.person_id not in best or score > best[c.person_id].score):
            best[c.person_id] = Match(c.person_id, c.kind, c.text, round(score, 3))
    return sorted(best.values(), key=lambda m: (-m.score, m.text))[:limit]
