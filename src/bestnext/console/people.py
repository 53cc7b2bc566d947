"""Console use cases about one person: search, and the 360° view assembled from the services
of identity, profiles, consent, channels, journeys and the event log.

Reading a person is audited (``access.audit``) in the same transaction as the read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bestnext.access import audit
from bestnext.access.model import Principal
from bestnext.channels import branch, calls, cases, outbox
from bestnext.consent import services as consent
from bestnext.console import search, store
from bestnext.eventlog import store as eventlog
from bestnext.identity import services as identity
from bestnext.journeys import store as journeys
from bestnext.profiles import services as profiles
from bestnext.profiles import store as profile_store
from bestnext.profiles.names import display_name

TEXT_PROPERTIES = ("text", "message", "body", "comment", "question")


@dataclass(frozen=True, slots=True)
class Hit:
    """A search result: the person, their name and what matched."""

    person_id: str
    name: str | None
    matched_kind: str
    matched_text: str
    score: float


@dataclass(frozen=True, slots=True)
class TimelineItem:
    at: datetime
    touchpoint: str
    direction: str  # "in" (the person) or "out" (the bank)
    name: str
    text: str | None
    details: dict[str, Any]


@dataclass
class PersonView:
    person_id: str
    name: str | None
    identities: list[dict[str, Any]]
    merges: list[identity.Merge]
    traits: dict[str, dict[str, Any]]
    lifecycle: str | None
    household: dict[str, Any] | None
    holdings: list[str]
    interests: list[dict[str, Any]]
    consents: dict[str, Any]
    cases: list[cases.Case]
    tasks: list[calls.CallTask]
    appointments: list[branch.Appointment]
    journeys: list[journeys.Instance]
    timeline: list[TimelineItem] = field(default_factory=list)

    @property
    def touchpoints(self) -> list[str]:
        return sorted({item.touchpoint for item in self.timeline})


def search_people(conn: Connection, query: str, limit: int = 20) -> list[Hit]:
    """People matching ``query``, best first, found through indexes only: by an identifier's
    exact normalised value, or by name (every query word starts a word of the name, or matches
    one with a typo after its first three letters)."""
    if not query.strip():
        return []
    found = [search.Match(pid, kind, value, 1.0)
             for pid, kind, value in store.identities_by_value(conn, search.identifier_forms(query))]
    tokens = search.query_words(query)
    matches = search.rank(tokens, _named(conn, tokens, limit) if tokens else {}, found, limit)
    by_identifier = {m.person_id for m in matches if m.kind != "name"}
    names = profile_store.names_of(conn, by_identifier) if by_identifier else {}
    return [Hit(m.person_id, m.text if m.kind == "name" else names.get(m.person_id), m.kind, m.text, m.score)
            for m in matches]


CANDIDATES = 100  # persons scored per query at most (ties beyond it are equally good)


def _named(conn: Connection, tokens: list[str], limit: int) -> dict[str, str]:
    """Persons (id -> name) whose name matches every query word: first through each word's
    best-matching index words, then, if that found too few, through all (typos)."""
    matches = [search.word_matches(t, _vocabulary(conn, t)) for t in tokens]
    if not all(matches):
        return {}
    best = [{w for w, score in m.items() if score == max(m.values())} for m in matches]
    named = profile_store.named_with_words(conn, best, CANDIDATES)
    if len(named) < limit and any(len(b) < len(m) for b, m in zip(best, matches, strict=True)):
        named |= profile_store.named_with_words(conn, [set(m) for m in matches], CANDIDATES)
    return named


def _vocabulary(conn: Connection, token: str) -> list[str]:
    """The index words a query word may match: those sharing its first letters."""
    if len(token) < search.STEM:
        return [token]  # a short word only matches itself
    return profile_store.name_words(conn, token[:search.STEM])


def resolve_person(conn: Connection, person_id: str) -> str | None:
    """The current id of ``person_id`` (following a merge), or None when unknown."""
    return identity.current_person(conn, person_id)


def person_view(conn: Connection, person_id: str, principal: Principal, now: datetime,
                purpose: str = "console: customer 360") -> PersonView:
    """Everything the bank knows about the person, for the 360° page (the read is audited)."""
    audit.record(conn, principal, "profile.read", person_id, purpose, now)
    profile = _profile(conn, person_id)
    view = PersonView(
        person_id=person_id, name=profile["name"],
        identities=[{"type": i.type, "value": i.value, "linked_by": i.linked_by, "shared": i.shared}
                    for i in identity.identities_of(conn, person_id)],
        merges=identity.merges_of(conn, person_id),
        traits=profile["traits"], lifecycle=profile["lifecycle"], household=profile["household"],
        holdings=profile["holdings"], interests=profile["interests"],
        consents=consent.show(conn, person_id),
        cases=cases.list_cases(conn, status="open", person_id=person_id),
        tasks=[t for t in calls.list_tasks(conn, limit=1000) if t.person_id == person_id and t.status != "done"],
        appointments=[a for a in branch.list_for_branch(conn, None, "expected") if a.person_id == person_id],
        journeys=journeys.of_person(conn, person_id, status=None),
    )
    view.timeline = timeline(conn, person_id)
    return view


def timeline(conn: Connection, person_id: str, touchpoint: str | None = None) -> list[TimelineItem]:
    """Every touchpoint of the person, newest first: what they did and what the bank sent."""
    items = [TimelineItem(e.occurred_at, e.touchpoint, "out" if e.source_id == "channels" else "in",
                          e.event or e.type, _text_of(e.properties), e.properties)
             for e in eventlog.events_of(conn, person_id, limit=5000)]
    for row in outbox.of_person(conn, person_id):
        a = row.action
        items.append(TimelineItem(row.sent_at or a.due_at, a.channel, "out", f"{a.action} ({row.status})",
                                  a.text, {"product": a.product, "offer": a.offer, "journey": a.journey}))
    if touchpoint:
        items = [i for i in items if i.touchpoint == touchpoint]
    return sorted(items, key=lambda i: i.at, reverse=True)


def _text_of(properties: dict[str, Any]) -> str | None:
    for key in TEXT_PROPERTIES:
        value = properties.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _profile(conn: Connection, person_id: str) -> dict[str, Any]:
    p = profiles.get_profile(conn, person_id)
    name = display_name(p.traits)
    return {"name": name, "traits": p.traits, "lifecycle": p.lifecycle_stage, "household": p.household,
            "holdings": p.holdings, "interests": p.interests}


def names_of(conn: Connection, person_ids: set[str]) -> dict[str, str]:
    """Display names of some people (for queues and briefings)."""
    if not person_ids:
        return {}
    return profile_store.names_of(conn, person_ids)
