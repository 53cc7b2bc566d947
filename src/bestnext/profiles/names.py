"""People's names as the console searches them: a display name from traits, and its words
normalised (lower case, no accents) — the terms of the ``profile_name_terms`` index that the
profiles processor keeps (:mod:`bestnext.profiles.store`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

MAX_TERM, MAX_NAME = 100, 200
_SPACES = re.compile(r"\s+")
_WORD_BREAKS = re.compile(r"[\s\-'’.,]+")


@lru_cache(maxsize=262_144)
def normalise(text: str) -> str:
    """Lower case, without accents, single spaces.

    >>> normalise("  Niccolò   ROSSI ")
    'niccolo rossi'
    """
    return _SPACES.sub(" ", _fold(_fold(text))).strip()  # twice: each step may undo the other's


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The normalised words of a name or of a query (hyphens and apostrophes split words).

    >>> words("Anna-Maria D'Àngelo")
    ['anna', 'maria', 'd', 'angelo']
    """
    return [w[:MAX_TERM] for w in _WORD_BREAKS.split(normalise(text)) if w]


def display_name(traits: Mapping[str, Any]) -> str | None:
    """A display name from Segment traits (plain values, or a profile's ``{"value": ...}``).

    >>> display_name({"first_name": "Martina", "last_name": {"value": "Bianchi"}})
    'Martina Bianchi'
    >>> display_name({"name": "Giorgio Rossi"}), display_name({})
    ('Giorgio Rossi', None)
    """
    plain = {k: v.get("value") if isinstance(v, dict) else v for k, v in traits.items()}
    parts = [str(plain[k]) for k in ("first_name", "last_name") if plain.get(k)]
    if parts:
        return " ".join(parts)[:MAX_NAME]
    name = plain.get("name") or plain.get("firstName")
    return str(name)[:MAX_NAME] if name else None


def terms(name: str | None) -> list[str]:
    """The distinct index terms of a display name, in order.

    >>> terms("Maria Maria Rossi"), terms(None)
    (['maria', 'rossi'], [])
    """
    return list(dict.fromkeys(words(name))) if name else []


def prefix_range(prefix: str) -> tuple[str, str]:
    """The half-open range ``[lo, hi)`` of the strings that start with ``prefix``, in code point
    order (= UTF-8 byte order: SQLite's BINARY and PostgreSQL's "C" collations).

    >>> prefix_range("mar"), prefix_range("z\U0010ffff")
    (('mar', 'mas'), ('z\U0010ffff', '{'))
    """
    head = prefix
    while head:
        following = ord(head[-1]) + 1
        if following <= 0x10FFFF:
            following = 0xE000 if 0xD800 <= following <= 0xDFFF else following  # no surrogates
            return prefix, head[:-1] + chr(following)
        head = head[:-1]
    raise ValueError("a prefix of only U+10FFFF has no upper bound")
