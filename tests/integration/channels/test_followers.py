"""Channels rows follow identity un-merges and consent withdrawals (real SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from bestnext.bootstrap import Container
from bestnext.channels import cases, outbox
from bestnext.channels.model import OutboundAction, Status
from bestnext.consent import services as consent
from bestnext.consent.model import Source
from bestnext.db import read
from bestnext.eventlog import Pipeline
from bestnext.identity import services as identity
from bestnext.identity.processor import IdentityProcessor
from bestnext.profiles.processor import ProfilesProcessor
from tests.integration.channels.conftest import T0
from tests.support.segment import append, scenario


def _action(person: str, purpose: str = "marketing", *based_on: str, channel: str = "email",
            due: timedelta = timedelta(0)) -> OutboundAction:
    return OutboundAction(person_id=person, channel=channel, purpose=purpose, action="offer_prepaid_card",
                          due_at=T0 + due, text="Ciao", based_on=tuple(based_on))


def _person_of(container: Container, action_id: str) -> str:
    with read(container.engine) as conn:
        row = outbox.get(conn, action_id)
    assert row is not None
    return row.action.person_id


def test_rows_based_on_moved_events_follow_an_unmerge(vcontainer: Container) -> None:
    vcontainer.pipeline = Pipeline(vcontainer.engine, [IdentityProcessor(vcontainer.clock),
                                                       ProfilesProcessor()], 500)
    messages = scenario("rossi")
    append(vcontainer, messages[:10])  # Giorgio's anonymous pages (rossi-09, rossi-10), not linked yet
    with read(vcontainer.engine) as conn:
        web = identity.find_person(conn, "anonymous_id", "web-77c0")
        giorgio_before = identity.find_person(conn, "user_id", "C100234")
    assert web and giorgio_before and web != giorgio_before
    theirs = _action(web, "marketing", "rossi-09", "rossi-10")  # based on the anonymous pages
    mixed = _action(web, "marketing", "rossi-10", "rossi-01")  # also on Giorgio's own identify
    mine = _action(giorgio_before, "service", "rossi-01")
    unbased = _action(web, "service")
    with vcontainer.engine.begin() as conn:
        for a in (theirs, mixed, mine, unbased):
            outbox.enqueue(conn, a)
        case_id = cases.open_case(conn, web, "complaint", team="customer_care", sla=timedelta(hours=48),
                                  opened_by="api", at=T0, based_on=("rossi-09",))
    append(vcontainer, messages[10:])  # the e-banking login merges them
    with read(vcontainer.engine) as conn:
        giorgio = identity.find_person(conn, "user_id", "C100234")
        [merge] = identity.merges_of(conn, giorgio)  # type: ignore[arg-type]
    assert giorgio == giorgio_before
    assert {_person_of(vcontainer, a.id) for a in (theirs, mixed, mine, unbased)} == {giorgio}

    with vcontainer.engine.begin() as conn:
        done = identity.unmerge(conn, merge.id, vcontainer.clock.now())
        assert cases.get(conn, case_id).person_id == web
    assert done.restored_id == web
    assert _person_of(vcontainer, theirs.id) == web
    assert _person_of(vcontainer, mixed.id) == giorgio  # rossi-01 stayed with Giorgio
    assert _person_of(vcontainer, mine.id) == giorgio
    assert _person_of(vcontainer, unbased.id) == giorgio  # nothing to go by: it stays


def test_withdrawal_cancels_pending_marketing_in_the_same_transaction(vcontainer: Container) -> None:
    with vcontainer.engine.begin() as conn:
        consent.record(conn, "p-1", {"personal_data": True, "own_marketing": True}, Source("web", "c-1"),
                       T0 - timedelta(days=1))
    offer, later, service = (_action("p-1", due=timedelta(days=1)), _action("p-1", channel="sms"),
                             _action("p-1", "service"))
    other = _action("p-2")
    leased = _action("p-1", due=timedelta(days=-1))
    with vcontainer.engine.begin() as conn:
        for a in (offer, later, service, other, leased):
            outbox.enqueue(conn, a)
        [claimed] = outbox.claim(conn, "w-1", T0 - timedelta(hours=1), 10, timedelta(minutes=5))
    assert claimed.action.id == leased.id

    with vcontainer.engine.begin() as conn:
        consent.record(conn, "p-1", {"own_marketing": False}, Source("email"), T0)
        # visible inside the withdrawal's own transaction, before any dispatcher runs
        assert outbox.get(conn, offer.id).status is Status.CANCELLED  # type: ignore[union-attr]
    with read(vcontainer.engine) as conn:
        states = {a.id: outbox.get(conn, a.id) for a in (offer, later, service, other, leased)}
    assert states[offer.id].status is Status.CANCELLED  # type: ignore[union-attr]
    assert "consent" in (states[offer.id].last_error or "")  # type: ignore[union-attr]
    assert states[later.id].status is Status.CANCELLED  # type: ignore[union-attr]
    assert states[service.id].status is Status.PENDING  # type: ignore[union-attr]
    assert states[other.id].status is Status.PENDING  # type: ignore[union-attr]
    assert states[leased.id].status is Status.SENDING  # the holder's gate decides  # type: ignore[union-attr]


def test_a_grant_cancels_nothing(vcontainer: Container) -> None:
    offer = _action("p-1")
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, offer)
        consent.record(conn, "p-1", {"personal_data": True, "own_marketing": True}, Source("web", "c-1"), T0)
        consent.record(conn, "p-1", {"profiling": False}, Source("web", "c-2"), T0)  # marketing still allowed
    with read(vcontainer.engine) as conn:
        assert outbox.get(conn, offer.id).status is Status.PENDING  # type: ignore[union-attr]


def test_erasure_removes_the_persons_letters_from_post_batches(vcontainer: Container) -> None:
    from bestnext.channels.providers import BatchFileProvider
    from bestnext.channels.wiring import dispatcher
    from bestnext.privacy import services as privacy

    directory = vcontainer.settings.var_dir / "post"  # as configured in the demo bank's channels.yaml
    d = dispatcher(vcontainer, chosen={"post": BatchFileProvider(directory)})
    theirs, others = _action("p-1", "service", channel="post"), _action("p-2", "service", channel="post")
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, theirs)
        outbox.enqueue(conn, others)
    assert d.run_until_idle() == 2
    [batch] = directory.glob("batch-*.jsonl")
    assert theirs.id in batch.read_text() and others.id in batch.read_text()
    with read(vcontainer.engine) as conn:
        letters = privacy.export(conn, "p-1", T0)["post_batches"]
    assert [letter["id"] for letter in letters] == [theirs.id]

    with vcontainer.engine.begin() as conn:
        privacy.erase(conn, "p-1", T0)
    text = batch.read_text()
    assert theirs.id not in text and "p-1" not in text
    assert others.id in text and len(text.splitlines()) == 1


def test_a_merge_moves_whichever_rows_the_absorbed_person_has(vcontainer: Container) -> None:
    from bestnext.channels import branch
    from bestnext.identity import hooks

    with vcontainer.engine.begin() as conn:
        branch.create(conn, person_id="p-only-branch", branch="MI02", advisor="a-1", expected_from=T0, expected_until=None,
                      briefing={}, now=T0)
        hooks.merged(conn, "p-survivor", "p-only-branch")  # only a briefing: it follows
        hooks.merged(conn, "p-survivor", "p-nothing")  # nothing to move: nothing happens
        assert [a.person_id for a in branch.list_for_branch(conn, "MI02")] == ["p-survivor"]
