"""The pre-send gate (consent, open cases, contact policy) and the assisted channels."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bestnext.bootstrap import Container
from bestnext.channels import branch, calls, cases, outbox
from bestnext.channels.assisted import record_outcome
from bestnext.channels.config import operators_config
from bestnext.channels.model import OutboundAction, Status
from bestnext.channels.processor import ChannelsProcessor
from bestnext.channels.providers import SandboxProvider
from bestnext.channels.wiring import dispatcher
from bestnext.clock import ROME
from bestnext.consent import services as consent
from bestnext.consent.model import Source
from bestnext.eventlog import LoggedEvent
from bestnext.eventlog.tables import events
from tests.integration.channels.conftest import T0, clock_of


def address(_conn: object, person_id: str, _channel: str) -> str:
    return f"{person_id}@example.org"


def act(channel: str, purpose: str, due: datetime = T0, **kw: object) -> OutboundAction:
    return OutboundAction(person_id="p-1", channel=channel, purpose=purpose, action=kw.pop("action", "offer_prepaid_card"),  # type: ignore[arg-type]
                          due_at=due, text="Ciao Martina, il primo anno è gratis.", **kw)  # type: ignore[arg-type]


def grant(container: Container, **purposes: bool) -> None:
    with container.engine.begin() as conn:
        consent.record(conn, "p-1", purposes, Source("web", "consent-1"), T0 - timedelta(days=1))


def state_of(container: Container, action_id: str) -> tuple[Status, str | None]:
    with container.engine.begin() as conn:
        row = outbox.get(conn, action_id)
    assert row is not None
    return row.status, row.last_error


def test_marketing_without_consent_is_cancelled_never_sent(vcontainer: Container) -> None:
    sandbox = SandboxProvider()
    d = dispatcher(vcontainer, chosen={"email": sandbox}, resolver=address)
    a = act("email", "marketing")
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, a)
    d.run_until_idle()
    status, reason = state_of(vcontainer, a.id)
    assert status is Status.CANCELLED and "consent" in (reason or "")
    assert sandbox.delivered == []


def test_consent_withdrawn_after_enqueue_cancels(vcontainer: Container) -> None:
    grant(vcontainer, personal_data=True, own_marketing=True)
    sandbox = SandboxProvider()
    d = dispatcher(vcontainer, chosen={"email": sandbox}, resolver=address)
    first, second = act("email", "marketing"), act("email", "marketing", due=T0 + timedelta(days=2))
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, first)
        outbox.enqueue(conn, second)
    d.run_until_idle()
    assert sandbox.delivered == [first.id]
    with vcontainer.engine.begin() as conn:
        consent.record(conn, "p-1", {"own_marketing": False}, Source("email"), T0 + timedelta(days=1))
    clock_of(vcontainer).advance_to(T0 + timedelta(days=2))
    d.run_until_idle()
    assert state_of(vcontainer, second.id)[0] is Status.CANCELLED
    assert sandbox.delivered == [first.id]


def test_an_open_case_suppresses_marketing_but_not_service(vcontainer: Container) -> None:
    grant(vcontainer, personal_data=True, own_marketing=True)
    with vcontainer.engine.begin() as conn:
        case_id = cases.open_case(conn, "p-1", "token_shipment", team="operations", sla=timedelta(hours=24),
                                  opened_by="journeys", at=T0, based_on=("m-9",))
        assert cases.has_open_case(conn, "p-1")
    sandbox = SandboxProvider()
    d = dispatcher(vcontainer, chosen={"email": sandbox}, resolver=address)
    sales, service = act("email", "marketing"), act("email", "service", action="answer_request")
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, sales)
        outbox.enqueue(conn, service)
    d.run_until_idle()
    assert state_of(vcontainer, sales.id) == (Status.CANCELLED, "cancelled: open_service_case")
    assert sandbox.delivered == [service.id]
    with vcontainer.engine.begin() as conn:
        cases.set_status(conn, case_id, "in_progress", "isabella", T0 + timedelta(minutes=5))
        closed = cases.set_status(conn, case_id, "resolved", "isabella", T0 + timedelta(hours=2))
        assert not cases.has_open_case(conn, "p-1")
    assert [h["status"] for h in closed.history] == ["open", "in_progress", "resolved"]
    assert closed.sla_due_at == T0 + timedelta(hours=24)


def test_quiet_hours_reschedule_an_sms_to_the_next_allowed_moment(vcontainer: Container) -> None:
    night = datetime(2025, 2, 18, 23, 5, tzinfo=ROME)
    clock_of(vcontainer).advance_to(night)
    sandbox = SandboxProvider()
    d = dispatcher(vcontainer, chosen={"sms": sandbox}, resolver=address)
    a = act("sms", "service", due=night, action="answer_request")
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, a)
    d.run_until_idle()
    morning = datetime(2025, 2, 19, 9, 0, tzinfo=ROME)
    with vcontainer.engine.begin() as conn:
        row = outbox.get(conn, a.id)
        assert outbox.next_due_at(conn) == morning
    assert row is not None and row.status is Status.PENDING and row.attempts == 0
    assert sandbox.delivered == []
    clock_of(vcontainer).advance_to(morning)
    d.run_until_idle()
    with vcontainer.engine.begin() as conn:
        [sent] = outbox.sent_actions(conn)
    assert sent.sent_at == morning and sandbox.delivered == [a.id]


def test_a_call_action_becomes_a_task_in_opening_hours_with_script_and_outcome(vcontainer: Container) -> None:
    grant(vcontainer, personal_data=True, own_marketing=True)
    saturday_night = datetime(2025, 2, 22, 21, 0, tzinfo=ROME)
    with vcontainer.engine.begin() as conn:
        conn.execute(events.insert().values(
            source_id="web", message_id="m-form", type="track", event="Form Submitted", touchpoint="web",
            occurred_at=T0, received_at=T0, person_id="p-1", payload={"properties": {}}))
    clock_of(vcontainer).advance_to(saturday_night)
    d = dispatcher(vcontainer, chosen={})
    a = act("call_center", "marketing", due=saturday_night, assignee="call_center", based_on=("m-form",),
            product="prepaid_card", offer="first_year_free")
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, a)
    d.run_until_idle()
    monday = datetime(2025, 2, 24, 9, 0, tzinfo=ROME)  # Sunday closed, Saturday evening quiet
    clock_of(vcontainer).advance_to(monday)
    d.run_until_idle()
    with vcontainer.engine.begin() as conn:
        [task] = calls.list_tasks(conn, queue="call_center")
        [sent] = outbox.sent_actions(conn)
    assert task.due_at == monday and sent.sent_at == monday and task.action_id == a.id
    assert [s["step"] for s in task.script] == ["service", "offer"]
    assert [e["message_id"] for e in task.context["led_here"]] == ["m-form"]
    ops = operators_config(vcontainer.settings.config_dir)
    with vcontainer.engine.begin() as conn:
        calls.claim(conn, task.id, "luigi", monday)
        record_outcome(conn, task.id, "accepted", "luigi", monday + timedelta(minutes=3), ops)
        names = [r.event for r in conn.execute(select(events.c.event).where(events.c.person_id == "p-1"))]
    assert names.count("Call Task Created") == 1 and names.count("Call Completed") == 1


def test_an_unclaimed_task_escalates(vcontainer: Container) -> None:
    d = dispatcher(vcontainer, chosen={})
    a = act("call_center", "service", action="recontact_failed_operation")
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, a)
    d.run_until_idle()
    clock_of(vcontainer).advance_to(T0 + timedelta(minutes=31))
    d.run_once()
    with vcontainer.engine.begin() as conn:
        [task] = calls.list_tasks(conn)
    assert task.status == "escalated" and task.priority == 0


def test_a_branch_action_briefs_the_advisor_and_a_visit_closes_it(vcontainer: Container) -> None:
    grant(vcontainer, personal_data=True, own_marketing=True)
    d = dispatcher(vcontainer, chosen={})
    a = act("branch", "marketing", assignee="MI02", product="family_mortgage", offer="family_rate_discount",
            action="offer_family_mortgage")
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, a)
    d.run_until_idle()
    with vcontainer.engine.begin() as conn:
        [appointment] = branch.list_for_branch(conn, "MI02")
    assert appointment.advisor == "Mr Verdi"
    assert appointment.briefing["propose"] == {"action": "offer_family_mortgage", "product": "family_mortgage",
                                               "offer": "family_rate_discount"}
    visit = LoggedEvent(seq=1, source_id="branch", message_id="v-1", type="track", event="Branch Visited",
                        touchpoint="branch", occurred_at=T0 + timedelta(days=1), received_at=T0,
                        user_id=None, anonymous_id=None, person_id="p-1", payload={})
    with vcontainer.engine.begin() as conn:
        ChannelsProcessor().handle(conn, [visit])
        assert branch.list_for_branch(conn, "MI02") == []
        assert branch.list_for_branch(conn, "MI02", status="visited")[0].id == appointment.id


def test_rows_follow_an_identity_merge(vcontainer: Container) -> None:
    from bestnext.identity import hooks

    d = dispatcher(vcontainer, chosen={})
    a = act("call_center", "service", action="answer_request")
    with vcontainer.engine.begin() as conn:
        outbox.enqueue(conn, a)
        cases.open_case(conn, "p-1", "complaint", team="customer_care", sla=timedelta(hours=48),
                        opened_by="api", at=T0)
    d.run_until_idle()
    with vcontainer.engine.begin() as conn:
        hooks.merged(conn, "p-survivor", "p-1")
        assert outbox.get(conn, a.id).action.person_id == "p-survivor"  # type: ignore[union-attr]
        assert [t.person_id for t in calls.list_tasks(conn)] == ["p-survivor"]
        assert cases.has_open_case(conn, "p-survivor") and not cases.has_open_case(conn, "p-1")
