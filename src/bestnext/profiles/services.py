"""Use cases of profiles: read a profile, a person's timeline, rebuild from the log."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection

from bestnext.errors import InvalidInput, NotFound
from bestnext.identity import services as identity
from bestnext.identity.model import USER_ID, Identity
from bestnext.profiles import processor, store
from bestnext.profiles.model import ProfileState, stage_rank


@dataclass(frozen=True, slots=True)
class Profile:
    """One person's profile (traits: name -> {value, source, at, message_id}; identities
    with ``type``, ``value`` and ``linked_by``)."""

    id: str
    identities: list[Identity]
    traits: dict[str, dict[str, Any]]
    lifecycle_stage: str | None
    household: dict[str, Any] | None
    holdings: list[str]
    interests: list[dict[str, Any]]
    event_count: int
    first_seen: str | None
    last_seen: str | None

    def public(self) -> dict[str, Any]:
        """The JSON shape of the CLI and the API: ``traits`` as name -> value, their
        provenance in ``trait_sources``."""
        out = asdict(self)
        out["identities"] = [{"type": i.type, "value": i.value} for i in self.identities]
        out["traits"] = {k: v["value"] for k, v in self.traits.items()}
        out["trait_sources"] = {k: {"source": v["source"], "at": v["at"],
                                    "message_id": v["message_id"]} for k, v in self.traits.items()}
        return out


def get_profile(conn: Connection, person_id: str) -> Profile:
    """The profile of a person (an absorbed id leads to the person it was merged into)."""
    current = identity.current_person(conn, person_id)
    if current is None:
        raise NotFound("No such person.")
    state = store.load(conn, [current]).get(current) or ProfileState()
    idents = identity.identities_of(conn, current)
    user_ids = [i.value for i in idents if i.type == USER_ID]
    for row in store.joint_of(conn, user_ids) if user_ids else []:
        state.hold(row.product, row.since, row.message_id)
    household = identity.household_of(conn, current)
    stage = state.stage
    return Profile(
        id=current,
        identities=idents,
        traits=dict(sorted(state.traits.items())),
        lifecycle_stage=stage if stage_rank(stage) else None,
        household={"id": household.id, "members": household.members} if household else None,
        holdings=sorted(state.holdings),
        interests=sorted(({"product": p, **v} for p, v in state.interests.items()),
                         key=lambda i: (i["at"], i["product"]), reverse=True),
        event_count=state.event_count, first_seen=state.first_seen, last_seen=state.last_seen)


def profile_of(conn: Connection, id_type: str, value: str) -> Profile:
    """The profile of whoever holds ``id_type:value`` (or ``person:<id>``)."""
    if id_type == "person":
        return get_profile(conn, value)
    person = identity.find_person(conn, id_type, value)
    if person is None:
        raise NotFound(f"No person with that {id_type}.")
    return get_profile(conn, person)


def timeline(conn: Connection, person_id: str, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """A page of the person's events across touchpoints, oldest first."""
    if not 1 <= limit <= 500 or offset < 0:
        raise InvalidInput("limit must be 1..500 and offset >= 0.")
    current = identity.current_person(conn, person_id)
    if current is None:
        raise NotFound("No such person.")
    events, total = store.timeline(conn, current, limit, offset)
    items = [{"seq": e.seq, "message_id": e.message_id, "type": e.type, "event": e.event,
              "name": e.payload.get("name"), "touchpoint": e.touchpoint,
              "occurred_at": e.occurred_at.isoformat(), "properties": e.properties}
             for e in events]
    nxt = offset + len(items) if offset + len(items) < total else None
    return {"person_id": current, "total": total, "offset": offset, "limit": limit,
            "next_offset": nxt, "events": items}


def rebuild(conn: Connection) -> int:
    """Replay the log into fresh profiles; returns the events replayed."""
    return processor.rebuild_all(conn)
