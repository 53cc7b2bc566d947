"""The console's people search through indexes, kept by the profiles processor, on SQLite and
PostgreSQL: identifiers by exact normalised value, names by word prefix (case- and
accent-insensitive, typos after three letters), through renames, merges and erasure."""

from __future__ import annotations

from itertools import count
from typing import Any

from sqlalchemy import select, text

from bestnext.bootstrap import Container
from bestnext.console import people
from bestnext.db import read
from bestnext.identity import services as identity
from bestnext.privacy import services as privacy
from bestnext.profiles.tables import profile_name_terms
from tests.support.segment import append

_ids = count()


def _identify(traits: dict[str, Any], **ids: str) -> dict[str, Any]:
    return {"type": "identify", "messageId": f"s-{next(_ids)}", "timestamp": "2026-01-01T10:00:00+00:00",
            "traits": traits, **ids}


def _found(container: Container, query: str) -> list[tuple[str | None, str, str]]:
    with read(container.engine) as conn:
        return [(h.name, h.matched_kind, h.matched_text) for h in people.search_people(conn, query)]


def _seed(container: Container) -> None:
    append(container, [
        _identify({"first_name": "Niccolò", "last_name": "Rossi", "email": "N.Rossi@Example.org",
                   "phone": "347 555 0101"}, userId="C-100234"),
        _identify({"first_name": "Martina", "last_name": "Bianchi"}, userId="C-100235"),
        _identify({"name": "Marina Bianco"}, anonymousId="web-9"),
    ])


def test_names_by_prefix_without_case_or_accents_and_with_typos(container: Container) -> None:
    _seed(container)
    assert _found(container, "nicco")[0][0] == "Niccolò Rossi"
    assert _found(container, "NICCOLO ROSSI")[0] == ("Niccolò Rossi", "name", "Niccolò Rossi")
    assert [n for n, _, _ in _found(container, "Martina Bianki")] == ["Martina Bianchi", "Marina Bianco"]
    assert [n for n, _, _ in _found(container, "bian")] == ["Marina Bianco", "Martina Bianchi"]
    assert _found(container, "Giorgio") == [] and _found(container, "rossi verdi") == []


def test_identifiers_by_exact_normalised_value(container: Container) -> None:
    _seed(container)
    assert _found(container, " n.rossi@EXAMPLE.org") == [("Niccolò Rossi", "email", "n.rossi@example.org")]
    assert _found(container, "+39 347 555 0101") == [("Niccolò Rossi", "phone", "+393475550101")]
    assert _found(container, "347-555-0101")[0][2] == "+393475550101"
    assert _found(container, "C-100235") == [("Martina Bianchi", "user_id", "C-100235")]
    assert _found(container, "c-100235") == [("Martina Bianchi", "user_id", "C-100235")]
    assert _found(container, "C-1002") == []  # exact values only: no scan for substrings


def test_the_index_follows_renames_and_merges(container: Container) -> None:
    _seed(container)
    append(container, [_identify({"last_name": "Verdi"}, userId="C-100234")])
    assert _found(container, "rossi") == []
    assert _found(container, "niccolo verdi")[0][0] == "Niccolò Verdi"
    append(container, [_identify({"first_name": "Gaia", "last_name": "Esposito"}, anonymousId="web-1"),
                       {"type": "alias", "messageId": "s-alias", "previousId": "web-1", "userId": "C-100235",
                        "timestamp": "2026-01-02T10:00:00+00:00"}])
    with read(container.engine) as conn:
        survivor = identity.find_person(conn, "user_id", "C-100235")
        indexed = set(conn.execute(select(profile_name_terms.c.person_id)).scalars())
    hits = _found(container, "gaia")
    assert [h[0] for h in hits] == ["Gaia Esposito"]  # the survivor took the later name
    with read(container.engine) as conn:
        assert {h.person_id for h in people.search_people(conn, "gaia")} == {survivor}
    assert survivor in indexed and len(indexed) == 3  # Niccolò, the survivor, Marina: the absorbed is gone


def test_an_erased_person_is_not_found(container: Container) -> None:
    _seed(container)
    with container.engine.begin() as conn:
        person = identity.find_person(conn, "user_id", "C-100235")
        assert person is not None
        privacy.erase(conn, person, container.clock.now())
    assert [n for n, _, _ in _found(container, "martina bianchi")] == ["Marina Bianco"]  # a typo away
    assert _found(container, "C-100235") == []
    assert [n for n, _, _ in _found(container, "bianco")] == ["Marina Bianco"]


def test_name_and_identifier_queries_use_indexes(container: Container) -> None:
    """The search reads index ranges, never a whole table (SQLite's query plans)."""
    if container.engine.dialect.name != "sqlite":
        return  # PostgreSQL's planner scans small tables whatever the indexes; the bench measures it
    _seed(container)
    plans: list[str] = []
    with read(container.engine) as conn:
        conn.connection.dbapi_connection.set_trace_callback(  # type: ignore[union-attr]
            lambda sql: plans.append(sql) if sql.lstrip().upper().startswith(("SELECT", "WITH")) else None)
        people.search_people(conn, "Martina Bianki")
        people.search_people(conn, "n.rossi@example.org")
        conn.connection.dbapi_connection.set_trace_callback(None)  # type: ignore[union-attr]
        details = [row[-1] for sql in plans for row in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
    tables = {"identities", "persons", "profiles", "profile_name_terms"}
    scans = [d for d in details if d.startswith("SCAN") and "USING" not in d and d.split()[1] in tables]
    assert plans and not scans, details
