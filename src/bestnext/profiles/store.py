"""Named queries of profiles."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, exists, func, insert, select, text, update

from bestnext.db import insert_ignore
from bestnext.eventlog.model import LoggedEvent
from bestnext.eventlog.tables import events
from bestnext.profiles.model import ProfileState
from bestnext.profiles.names import prefix_range, terms
from bestnext.profiles.tables import profile_joint_holdings, profile_name_terms, profiles


def load(conn: Connection, person_ids: Iterable[str]) -> dict[str, ProfileState]:
    ids = sorted(set(person_ids))
    found: dict[str, ProfileState] = {}
    for i in range(0, len(ids), 500):
        query = select(profiles).where(profiles.c.person_id.in_(ids[i:i + 500]))
        for row in conn.execute(query):
            found[row.person_id] = ProfileState.from_doc(row.doc, row.event_count)
    return found


def save(conn: Connection, states: dict[str, ProfileState], existing: set[str]) -> None:
    """Insert new profiles and update the others, one executemany each."""
    rows = [{"b_id": pid, "stage": st.stage, "count": st.event_count, "doc": st.to_doc()}
            for pid, st in states.items()]
    fresh = [r for r in rows if r["b_id"] not in existing]
    known = [r for r in rows if r["b_id"] in existing]
    if fresh:
        conn.execute(insert(profiles), [
            {"person_id": r["b_id"], "lifecycle_stage": r["stage"], "event_count": r["count"],
             "doc": r["doc"]} for r in fresh])
    if known:
        stmt = (update(profiles).where(profiles.c.person_id == bindparam("b_id"))
                .values(lifecycle_stage=bindparam("stage"), event_count=bindparam("count"),
                        doc=bindparam("doc")))
        conn.execute(stmt, known)


def remove(conn: Connection, person_ids: Sequence[str]) -> None:
    conn.execute(delete(profiles).where(profiles.c.person_id.in_(list(person_ids))))
    index_names(conn, dict.fromkeys(person_ids))


def remove_all(conn: Connection) -> None:
    conn.execute(delete(profiles))
    conn.execute(delete(profile_joint_holdings))
    conn.execute(delete(profile_name_terms))


def index_names(conn: Connection, names: Mapping[str, str | None]) -> None:
    """(Re)index the display names of these persons (``None``: nothing to find them by)."""
    ids = sorted(names)
    for i in range(0, len(ids), 500):
        conn.execute(delete(profile_name_terms).where(profile_name_terms.c.person_id.in_(ids[i:i + 500])))
    rows = [{"term": term, "person_id": pid, "name": name}
            for pid, name in names.items() if name for term in terms(name)]
    if rows:
        conn.execute(insert(profile_name_terms), rows)


# A loose index scan: the distinct words in [lo, hi), one index probe each (not every row).
_VOCABULARY = text("""
WITH RECURSIVE v(term) AS (
    SELECT MIN(term) FROM profile_name_terms WHERE term >= :lo AND term < :hi
    UNION ALL
    SELECT (SELECT MIN(t.term) FROM profile_name_terms t WHERE t.term > v.term AND t.term < :hi)
    FROM v WHERE v.term IS NOT NULL
)
SELECT term FROM v WHERE term IS NOT NULL LIMIT :cap""")


def name_words(conn: Connection, prefix: str, cap: int = 500) -> list[str]:
    """The distinct words of people's names that start with ``prefix`` (at most ``cap``)."""
    lo, hi = prefix_range(prefix)
    return list(conn.execute(_VOCABULARY, {"lo": lo, "hi": hi, "cap": cap}).scalars())


def named_with_words(conn: Connection, word_sets: Sequence[Collection[str]], cap: int) -> dict[str, str]:
    """Persons (id -> display name) whose name has a word of every set (at most ``cap``).

    Put the most selective set first: it drives the index scan, the others are probed per person.
    """
    first, *rest = word_sets
    a = profile_name_terms.alias("a")
    query = select(a.c.person_id, a.c.name).where(a.c.term.in_(sorted(first)))
    for i, chosen in enumerate(rest):
        b = profile_name_terms.alias(f"b{i}")
        query = query.where(exists().where(b.c.person_id == a.c.person_id, b.c.term.in_(sorted(chosen))))
    return {pid: name for pid, name in conn.execute(query.limit(cap)).tuples()}


def names_of(conn: Connection, person_ids: Collection[str]) -> dict[str, str]:
    """The indexed display names of these persons (those that have one)."""
    query = (select(profile_name_terms.c.person_id, profile_name_terms.c.name)
             .where(profile_name_terms.c.person_id.in_(sorted(person_ids))))
    return {pid: name for pid, name in conn.execute(query).tuples()}


def add_joint(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    insert_ignore(conn, profile_joint_holdings, rows, ("user_id", "product", "message_id"))


def joint_of(conn: Connection, user_ids: Iterable[str]) -> list[Any]:
    query = select(profile_joint_holdings).where(
        profile_joint_holdings.c.user_id.in_(list(user_ids)))
    return list(conn.execute(query))


def events_upto(conn: Connection, person_id: str, upto: int) -> list[LoggedEvent]:
    query = (select(events).where(events.c.person_id == person_id, events.c.seq <= upto)
             .order_by(events.c.seq))
    return [LoggedEvent(**row._mapping) for row in conn.execute(query)]


def timeline(conn: Connection, person_id: str, limit: int, offset: int) -> tuple[list[LoggedEvent], int]:
    """A page of the person's events, oldest first, and the total."""
    query = (select(events).where(events.c.person_id == person_id)
             .order_by(events.c.occurred_at, events.c.seq).limit(limit).offset(offset))
    total = conn.execute(select(func.count()).select_from(events)
                         .where(events.c.person_id == person_id)).scalar_one()
    return [LoggedEvent(**row._mapping) for row in conn.execute(query)], int(total)
