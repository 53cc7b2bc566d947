"""Identity resolution and profiles on real SQLite and PostgreSQL: seed journeys, guards,
households, reversible un-merges, rebuilds."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import Connection, select

from bestnext.bootstrap import Container
from bestnext.db import read
from bestnext.errors import Conflict, NotFound
from bestnext.eventlog import Pipeline
from bestnext.eventlog.tables import events
from bestnext.identity import hooks
from bestnext.identity import services as identity
from bestnext.identity.processor import IdentityProcessor
from bestnext.profiles import services as profiles
from bestnext.profiles.processor import ProfilesProcessor
from tests.support.segment import append, scenario, seed_messages


def only_mine(container: Container, batch_size: int = 500) -> Container:
    """The container with a pipeline of identity and profiles only (fast, focused)."""
    container.pipeline = Pipeline(container.engine, [IdentityProcessor(container.clock),
                                                     ProfilesProcessor()], batch_size)
    return container


def profile(container: Container, id_type: str, value: str) -> dict[str, Any]:
    with read(container.engine) as conn:
        return profiles.profile_of(conn, id_type, value).public()


def ident(msg_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": "identify", "messageId": msg_id, "timestamp": "2025-03-01T10:00:00+01:00",
            "context": {"touchpoint": "web"}, **fields}


def track(msg_id: str, event: str, **fields: Any) -> dict[str, Any]:
    return {"type": "track", "event": event, "messageId": msg_id,
            "timestamp": "2025-03-01T10:05:00+01:00", "context": {"touchpoint": "web"}, **fields}


def test_seed_journeys_give_one_profile_per_person(container: Container) -> None:
    only_mine(container)  # (the e2e test runs the product's whole pipeline)
    append(container, seed_messages())
    martina = profile(container, "email", " Martina.Bianchi@example.org")
    assert {(i["type"], i["value"]) for i in martina["identities"]} >= {
        ("dmp_cookie", "dmp-88af"), ("facebook_id", "1000234"), ("anonymous_id", "web-5c1e"),
        ("phone", "+393471112233")}
    assert martina["lifecycle_stage"] == "prospect" and martina["event_count"] == 6
    assert profile(container, "facebook_id", "1000234")["id"] == martina["id"]
    assert martina["traits"]["first_name"] == "Martina"
    assert martina["trait_sources"]["first_name"]["message_id"] == "martina-01"
    assert [i["product"] for i in martina["interests"]] == ["prepaid_card"]

    antonio = profile(container, "partner_lead_id", "4471")
    assert profile(container, "phone", "338 999 8877")["id"] == antonio["id"]
    assert antonio["lifecycle_stage"] == "customer" and antonio["holdings"] == ["pension_fund"]
    assert antonio["event_count"] == 6

    giorgio, gaia = profile(container, "user_id", "C100234"), profile(container, "user_id", "C100235")
    assert giorgio["id"] != gaia["id"]
    for person in (giorgio, gaia):
        assert person["lifecycle_stage"] == "customer"
        assert person["holdings"] == ["current_account", "savings_junior"]
        assert person["household"] == {"id": "H-ROSSI", "members": sorted([giorgio["id"], gaia["id"]])}
    assert profile(container, "anonymous_id", "web-77c0")["id"] == giorgio["id"]
    assert profile(container, "facebook_id", "1000871")["id"] == giorgio["id"]
    assert giorgio["event_count"] == 11 and gaia["event_count"] == 2
    with read(container.engine) as conn:
        unattributed = conn.execute(select(events.c.seq).where(events.c.person_id.is_(None))).all()
    assert unattributed == []


def _partition(container: Container) -> dict[tuple[str, str], str]:
    from bestnext.identity.tables import identities

    with read(container.engine) as conn:
        rows = conn.execute(select(identities.c.id_type, identities.c.value, identities.c.person_id))
        by_person: dict[str, set[tuple[str, str]]] = {}
        for r in rows:
            by_person.setdefault(r.person_id, set()).add((r.id_type, r.value))
    # person ids differ between runs: name each cluster by its smallest identifier
    return {k: min(ids)[1] for ids in by_person.values() for k in ids}


def test_one_event_per_batch_or_one_batch_resolve_alike(container: Container) -> None:
    only_mine(container, batch_size=1)
    append(container, seed_messages())
    one_by_one = _partition(container)
    counts = {r: profile(container, *r)["event_count"] for r in [("user_id", "C100234"), ("phone", "+393389998877")]}
    with container.engine.begin() as conn:
        from bestnext.eventlog.tables import processor_checkpoints
        from bestnext.identity.tables import identities, persons
        from bestnext.profiles.tables import profile_joint_holdings
        from bestnext.profiles.tables import profiles as profile_rows

        for table in (identities, persons, profile_rows, profile_joint_holdings, processor_checkpoints):
            conn.execute(table.delete())
        conn.execute(events.update().values(person_id=None))
    only_mine(container, batch_size=500)
    container.pipeline.run_until_idle()
    assert _partition(container) == one_by_one
    assert {r: profile(container, *r)["event_count"] for r in counts} == counts


def _refused(kind: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("bestnext_identity_conflicts_total", {"kind": kind}) or 0.0


def test_two_customer_numbers_never_merge(container: Container) -> None:
    only_mine(container)
    refused_before = _refused("user_id")
    append(container, [ident("a1", userId="C1", traits={"email": "shared@x.it"}),
                       ident("a2", userId="C2", traits={"email": "shared@x.it"}),
                       track("a3", "Seen", userId="C2", anonymousId="dev-9")])
    c1, c2 = profile(container, "user_id", "C1"), profile(container, "user_id", "C2")
    assert c1["id"] != c2["id"] and c2["event_count"] == 2
    assert profile(container, "email", "shared@x.it")["id"] == c1["id"]
    with read(container.engine) as conn:
        conflicts = identity.conflicts_of(conn, c2["id"])
        assert [c["kind"] for c in conflicts] == ["user_id"]
        assert identity.merges_of(conn, c1["id"]) == []
    assert _refused("user_id") == refused_before + 1


def test_shared_kiosk_device_does_not_merge_two_people(container: Container) -> None:
    only_mine(container)
    append(container, scenario("antonio"))
    kiosk = [track("k1", "Branch Visited", anonymousId="branch-MI01",
                   context={"touchpoint": "branch", "traits": {"phone": "+393330000001"}}),
             track("k2", "Branch Visited", anonymousId="branch-MI01",
                   context={"touchpoint": "branch", "traits": {"phone": "+393389998877"}})]
    append(container, kiosk)
    antonio, other = profile(container, "phone", "+393389998877"), profile(container, "phone", "+393330000001")
    assert antonio["id"] != other["id"]
    assert other["event_count"] == 1 and antonio["event_count"] == 7
    with read(container.engine) as conn:
        assert [c["kind"] for c in identity.conflicts_of(conn, other["id"])] == ["shared_device"]
        shared = [i for i in identity.identities_of(conn, antonio["id"]) if i.value == "branch-MI01"]
        assert shared and shared[0].shared


def test_a_device_shared_by_two_customers_joins_neither(container: Container) -> None:
    only_mine(container)
    append(container, [track("d1", "E-banking Login", userId="C1", anonymousId="laptop"),
                       track("d2", "E-banking Login", userId="C2", anonymousId="laptop"),
                       track("d3", "Seen", userId="C1", anonymousId="laptop")])
    c1, c2 = profile(container, "user_id", "C1"), profile(container, "user_id", "C2")
    assert c1["id"] != c2["id"] and (c1["event_count"], c2["event_count"]) == (2, 1)


def test_alias_and_identify_link_anonymous_history(container: Container) -> None:
    only_mine(container)
    append(container, [{"type": "page", "messageId": "p1", "anonymousId": "web-1", "name": "Prepaid",
                        "properties": {"path": "/carte/prepagata"}, "timestamp": "2025-03-01T09:00:00+01:00"},
                       {"type": "alias", "messageId": "al", "previousId": "web-1", "userId": "C9",
                        "timestamp": "2025-03-01T09:01:00+01:00"}])
    person = profile(container, "anonymous_id", "web-1")
    assert person["id"] == profile(container, "user_id", "C9")["id"]
    assert person["event_count"] == 2 and person["lifecycle_stage"] == "prospect"


def test_household_group_links_people_without_merging(container: Container) -> None:
    only_mine(container)
    append(container, [ident("h1", userId="C1"), ident("h2", userId="C2"),
                       {"type": "group", "messageId": "g1", "userId": "C1", "groupId": "fam-7",
                        "traits": {"type": "household"}},
                       {"type": "group", "messageId": "g2", "userId": "C2", "groupId": "H-7"},
                       {"type": "group", "messageId": "g3", "userId": "C2", "groupId": "fam-7",
                        "traits": {"type": "household"}}])
    c1, c2 = profile(container, "user_id", "C1"), profile(container, "user_id", "C2")
    assert c1["id"] != c2["id"]
    assert c1["household"]["id"] == "fam-7" and set(c1["household"]["members"]) == {c1["id"], c2["id"]}


class Heard:
    def __init__(self) -> None:
        self.merges: list[tuple[str, str]] = []
        self.splits: list[tuple[str, str, list[int]]] = []

    def merged(self, conn: Connection, survivor: str, absorbed: str) -> None:
        self.merges.append((survivor, absorbed))

    def split(self, conn: Connection, original: str, new: str, moved: Sequence[int]) -> None:
        self.splits.append((original, new, list(moved)))


@pytest.fixture
def heard() -> Iterator[Heard]:
    listener = Heard()
    hooks.on_merge(listener.merged)
    hooks.on_split(listener.split)
    yield listener
    hooks._merge.remove(listener.merged)
    hooks._split.remove(listener.split)


def test_unmerge_restores_both_people_and_their_events(container: Container, heard: Heard) -> None:
    only_mine(container)
    messages = scenario("rossi")
    append(container, messages[:10])  # Giorgio's anonymous pages, not linked yet
    web_before = profile(container, "anonymous_id", "web-77c0")
    append(container, messages[10:])  # the e-banking login links them
    giorgio = profile(container, "user_id", "C100234")
    assert giorgio["event_count"] == 11 and giorgio["interests"][0]["product"] == "family_mortgage"
    assert heard.merges == [(giorgio["id"], web_before["id"])]
    with read(container.engine) as conn:
        [merge] = identity.merges_of(conn, giorgio["id"])
    assert merge.message_id == "rossi-11" and merge.absorbed_identities == [
        {"type": "anonymous_id", "value": "web-77c0"}]

    with container.engine.begin() as conn:
        done = identity.unmerge(conn, merge.id, container.clock.now())
    web_after, giorgio_after = profile(container, "anonymous_id", "web-77c0"), profile(container, "user_id", "C100234")
    assert web_after["id"] == web_before["id"] == done.restored_id
    assert web_after == web_before
    assert giorgio_after["event_count"] == 9 and giorgio_after["interests"] == []
    with read(container.engine) as conn:
        moved = conn.execute(select(events.c.message_id).where(events.c.seq.in_(heard.splits[0][2]))).scalars().all()
    assert heard.splits[0][:2] == (giorgio["id"], web_before["id"]) and sorted(moved) == ["rossi-09", "rossi-10"]
    with container.engine.begin() as conn, pytest.raises(Conflict):
        identity.unmerge(conn, merge.id, container.clock.now())
    # the same link, seen again, is refused: an un-merge is a decision, not a suggestion
    append(container, [track("again", "E-banking Login", userId="C100234", anonymousId="web-77c0")])
    assert profile(container, "anonymous_id", "web-77c0")["id"] == web_before["id"]
    with read(container.engine) as conn:
        assert "unmerged" in [c["kind"] for c in identity.conflicts_of(conn, web_before["id"])]


def test_rebuild_gives_the_incremental_profiles(container: Container) -> None:
    only_mine(container, batch_size=3)
    append(container, seed_messages())
    refs = [("user_id", "C100234"), ("user_id", "C100235"), ("phone", "+393389998877"),
            ("email", "martina.bianchi@example.org")]
    before = [profile(container, *r) for r in refs]
    with container.engine.begin() as conn:
        assert profiles.rebuild(conn) == 25
    assert [profile(container, *r) for r in refs] == before


def test_timeline_pages_and_unknowns(container: Container) -> None:
    only_mine(container)
    append(container, scenario("martina"))
    person = profile(container, "email", "martina.bianchi@example.org")["id"]
    with read(container.engine) as conn:
        first = profiles.timeline(conn, person, limit=4)
        rest = profiles.timeline(conn, person, limit=4, offset=first["next_offset"])
        with pytest.raises(NotFound):
            profiles.profile_of(conn, "email", "nobody@example.org")
    assert [e["message_id"] for e in first["events"] + rest["events"]] == [f"martina-0{i}" for i in range(1, 7)]
    assert first["total"] == 6 and rest["next_offset"] is None


def test_bank_records_follow_the_person_through_a_merge(container: Container) -> None:
    from bestnext.eventlog import NewEvent
    from bestnext.eventlog import store as log

    only_mine(container)
    append(container, [ident("w1", anonymousId="web-1", traits={"email": "a@x.it"}),
                       ident("c1", userId="C1")])
    web = profile(container, "anonymous_id", "web-1")["id"]
    receipt = NewEvent(source_id="channels", message_id="sent-1", type="track", touchpoint="email",
                       occurred_at=container.clock.now(), received_at=container.clock.now(),
                       payload={"type": "track", "event": "Email Sent", "properties": {"product": "prepaid_card"}},
                       event="Email Sent")
    with container.engine.begin() as conn:
        log.append(conn, [receipt])
        conn.execute(events.update().where(events.c.message_id == "sent-1").values(person_id=web))
    # the merge lands in the same batch as the receipt: the receipt must follow
    append(container, [track("m1", "E-banking Login", userId="C1", anonymousId="web-1")])
    person = profile(container, "user_id", "C1")
    with read(container.engine) as conn:
        owner = conn.execute(select(events.c.person_id).where(events.c.message_id == "sent-1")).scalar_one()
        page = profiles.timeline(conn, person["id"])
    assert owner == person["id"] == profile(container, "email", "a@x.it")["id"]
    assert "sent-1" in [e["message_id"] for e in page["events"]]
    # the bank's own record is on the timeline, not folded into the person's profile
    assert person["event_count"] == 3 and person["interests"] == []


def test_joint_holder_seen_later_still_holds(container: Container) -> None:
    only_mine(container)
    append(container, [ident("j0", userId="C1"),
                       track("j1", "Account Opened", userId="C1",
                             properties={"product": "current_account", "holders": ["C1", "C2"],
                                         "account_id": "IT00"})])
    append(container, [ident("j2", userId="C2", traits={"email": "c2@x.it"})])
    c1, c2 = profile(container, "user_id", "C1"), profile(container, "email", "c2@x.it")
    assert c2["holdings"] == ["current_account"] and c2["lifecycle_stage"] == "customer"
    assert c1["household"]["id"] == c2["household"]["id"] == "joint-IT00"
