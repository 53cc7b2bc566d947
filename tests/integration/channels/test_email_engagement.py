"""Email engagement over a real SMTP server (aiosmtpd) and real HTTP, on SQLite and PostgreSQL:
the tracked link of a decided email is followed, the click is on the timeline once per link and
teaches the decision ``accepted``; the pixel counts one open; forged tokens record nothing; a
person without profiling consent gets an untracked email, and a click after withdrawing it is
followed but not recorded."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import numpy as np
import pytest
from sqlalchemy import Connection, select

from bestnext.bootstrap import Container
from bestnext.channels import outbox
from bestnext.channels.config import channels_config
from bestnext.channels.dispatcher import Dispatcher
from bestnext.channels.model import OutboundAction
from bestnext.channels.providers import SmtpProvider
from bestnext.channels.routes import PIXEL
from bestnext.channels.wiring import dispatcher
from bestnext.consent import services as consent
from bestnext.consent.model import Source
from bestnext.decisions import services
from bestnext.decisions.model import DecisionContext
from bestnext.decisions.profile_view import build_view
from bestnext.decisions.tables import decision_outcomes
from bestnext.eventlog import store as log
from tests.integration.channels.conftest import T0, clock_of
from tests.support.live_app import LiveApp
from tests.support.smtp import Inbox, smtp_server

TEXT = ("Ciao Martina,\n\nil mutuo per la tua famiglia: https://www.bancademo.example/mutuo?utm=email&x=1\n\n"
        "Le domande frequenti: https://www.bancademo.example/faq")
TRACKED = re.compile(r"https?://\S+?/v1/t/c/[\w-]+\.[\w-]+")


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    with smtp_server() as served:
        yield served


def grant(conn: Connection, person: str, profiling: bool) -> None:
    consent.record(conn, person, {"personal_data": True, "own_marketing": True, "profiling": profiling},
                   Source("web", f"consent-{person}"), T0 - timedelta(days=1))


def decided_email(conn: Connection, person: str) -> OutboundAction:
    """A logged decision for ``person`` on email, and its first action as a marketing email."""
    view = build_view(person, {"age": 30, "first_name": "Martina"}, lifecycle_stage="customer", holdings=[],
                      interests=[], household=True, event_count=3, at=T0)
    decision_id, decision = services.decide_logged(conn, person, DecisionContext(at=T0, reason="browse"), "email",
                                                   3, view=view, rng=np.random.default_rng(3))
    first = decision.ranked[0]
    return OutboundAction(person_id=person, channel="email", purpose="marketing", action=first.action_id,
                          product=first.product, due_at=T0, text=TEXT,
                          data={"decision_id": decision_id, "subject": "Per te"})


def send(c: Container, app: LiveApp, port: int, *actions: OutboundAction) -> Dispatcher:
    with c.engine.begin() as conn:
        for a in actions:
            outbox.enqueue(conn, a)
    cfg = channels_config(c.settings.config_dir).model_copy(update={"public_base_url": app.base_url})
    d = dispatcher(c, chosen={"email": SmtpProvider("127.0.0.1", port, "noreply@bancademo.example")},
                   resolver=lambda _c, person, _ch: f"{person}@example.org", channels=cfg)
    assert d.run_until_idle() == len(actions)
    return d


def parts(msg: email.message.EmailMessage) -> tuple[str, str]:
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def outcomes(conn: Connection, decision_id: str) -> list[tuple[str, str, float | None]]:
    rows = conn.execute(select(decision_outcomes).where(decision_outcomes.c.decision_id == decision_id)
                        .order_by(decision_outcomes.c.id))
    return [(r.action_id, r.outcome, r.reward) for r in rows]


def test_a_click_is_recorded_once_per_link_and_teaches_the_decision(
        vcontainer: Container, smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    with vcontainer.engine.begin() as conn:
        grant(conn, "p-martina", profiling=True)
        a = decided_email(conn, "p-martina")
    with LiveApp(vcontainer) as app:
        send(vcontainer, app, port, a)
        [msg] = inbox.messages
        text, html = parts(msg)
        links = list(dict.fromkeys(TRACKED.findall(text)))
        assert len(links) == 2 and all(link in html for link in links)
        [pixel] = re.findall(r'<img src="([^"]+/v1/t/o/[^"]+\.gif)"', html)
        clock_of(vcontainer).advance_to(T0 + timedelta(hours=2))
        for link in (links[0], links[0], links[1]):  # the same link twice: one click
            answer = httpx.get(link, follow_redirects=False)
            assert answer.status_code == 302 and answer.headers["cache-control"].startswith("no-store")
        assert httpx.get(links[0], follow_redirects=False).headers["location"] == \
            "https://www.bancademo.example/mutuo?utm=email&x=1"
        for _ in range(2):
            opened = httpx.get(pixel)
            assert opened.status_code == 200 and opened.content == PIXEL
            assert opened.headers["content-type"] == "image/gif" and "no-cache" in opened.headers["cache-control"]
        forged = httpx.get(links[1][:-4] + "AAAA", follow_redirects=False)
        assert forged.status_code == 401 and forged.headers["content-type"] == "application/problem+json"
        bad_pixel = httpx.get(pixel.replace(".gif", "x.gif"))
        assert bad_pixel.status_code == 200 and bad_pixel.content == PIXEL
    vcontainer.pipeline.run_until_idle()  # the decisions processor reads the engagement
    with vcontainer.engine.begin() as conn:
        events = log.events_of(conn, "p-martina")
        taught = outcomes(conn, a.data["decision_id"])
    names = [e.event for e in events]
    assert names.count("Email Opened") == 1 and names.count("Email Link Clicked") == 2
    clicks = [e for e in events if e.event == "Email Link Clicked"]
    assert {e.properties["link"] for e in clicks} == {0, 1}
    assert {e.properties["url"] for e in clicks} == {"https://www.bancademo.example/mutuo",
                                                     "https://www.bancademo.example/faq"}
    for e in clicks:
        assert e.person_id == "p-martina" and e.properties["action_id"] == a.id
        assert e.properties["decision_id"] == a.data["decision_id"] and e.properties["product"] == a.product
    # sent (and opened): one impression; clicked: accepted, learned (profiling granted)
    assert taught == [(a.action, "impression", None), (a.action, "accepted", 1.0)]


def test_no_tracking_without_profiling_and_nothing_recorded_after_it_is_withdrawn(
        vcontainer: Container, smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    with vcontainer.engine.begin() as conn:
        grant(conn, "p-anna", profiling=False)
        grant(conn, "p-bruno", profiling=True)
        anna, bruno = decided_email(conn, "p-anna"), decided_email(conn, "p-bruno")
    with LiveApp(vcontainer) as app:
        send(vcontainer, app, port, anna, bruno)
        by_person = {str(m["To"]).split("@")[0]: parts(m) for m in inbox.messages}
        text, html = by_person["p-anna"]
        assert "/v1/t/" not in text and "/v1/t/" not in html and "<img" not in html
        assert "https://www.bancademo.example/faq" in text
        text, html = by_person["p-bruno"]
        link = TRACKED.findall(text)[0]
        with vcontainer.engine.begin() as conn:  # Bruno withdraws profiling after the send
            consent.record(conn, "p-bruno", {"profiling": False}, Source("app"), T0 + timedelta(minutes=5))
        clock_of(vcontainer).advance_to(T0 + timedelta(hours=1))
        answer = httpx.get(link, follow_redirects=False)
        assert answer.status_code == 302  # the person still gets where the message pointed
        assert httpx.get(re.findall(r'<img src="([^"]+)"', html)[0]).content == PIXEL
    vcontainer.pipeline.run_until_idle()
    with vcontainer.engine.begin() as conn:
        names = [e.event for p in ("p-anna", "p-bruno") for e in log.events_of(conn, p)]
        taught = outcomes(conn, bruno.data["decision_id"])
    assert names == ["Email Sent", "Email Sent"]
    assert [o for _a, o, _r in taught] == ["impression"]
