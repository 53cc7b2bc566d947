"""A journey waits for ``Email Link Clicked`` like any event (SQLite and PostgreSQL): it sends an
email with a link, the person follows the tracked link, the journey goes on to its next step."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bestnext.bootstrap import Container, build
from bestnext.channels import engagement, outbox
from bestnext.channels.render import render
from bestnext.clock import VirtualClock
from bestnext.ingest import services as ingest
from bestnext.journeys import store
from bestnext.settings import DEMO_CONFIG_DIR, Settings
from tests.integration.channels.conftest import T0

JOURNEY = """
id: brochure
version: 1
priority: 10
entry:
  - event: Brochure Requested
reentry: {mode: always}
steps:
  - id: mail
    do: send
    channel: email
    purpose: service
    action: answer_request
    at: now
    text: {it: "Ecco la brochure: https://www.bancademo.example/brochure"}
  - id: wait_click
    do: wait_event
    event: Email Link Clicked
    timeout: 3d
    on_event: thanks
    on_timeout: done
  - id: thanks
    do: send
    channel: push
    purpose: service
    action: answer_request
    at: now
    text: {it: "Grazie di aver letto la brochure."}
  - id: done
    do: end
"""


@pytest.fixture
def journeys_container(db_url: str, tmp_path: Path) -> Iterator[Container]:
    config = tmp_path / "bank"
    shutil.copytree(DEMO_CONFIG_DIR, config)
    (config / "journeys" / "brochure.yaml").write_text(JOURNEY)
    settings = Settings(database_url=db_url, environment="test", var_dir=tmp_path, log_file=tmp_path / "log.txt",
                        config_dir=config)
    built = build(settings, VirtualClock(T0), configure_logging=False)
    yield built
    built.dispose()


def test_a_journey_waits_for_an_email_link_clicked(journeys_container: Container) -> None:
    c = journeys_container
    base = {"anonymousId": "dev-ada", "timestamp": T0.isoformat(), "context": {"touchpoint": "web"}}
    messages = [
        {**base, "type": "identify", "messageId": "b1", "traits": {"first_name": "Ada", "email": "ada@example.org"}},
        {**base, "type": "track", "messageId": "b2", "event": "Consent Preferences Updated",
         "properties": {"purposes": {"personal_data": True, "profiling": True}}},
        {**base, "type": "track", "messageId": "b3", "event": "Brochure Requested", "properties": {}},
    ]
    with c.engine.begin() as conn:
        result = ingest.accept(conn, ingest.ensure_source(conn, "test", "web", T0), messages, T0)
    assert not result.errors
    c.pipeline.run_until_idle()
    person = _person(c)
    with c.engine.begin() as conn:
        [inst] = [i for i in store.of_person(conn, person) if i.journey_id == "brochure"]
        [mail] = [r.action for r in outbox.of_person(conn, person) if r.action.channel == "email"]
    assert inst.step == "wait_click"
    # the email as the dispatcher renders it for a person who allows tracking: follow its link
    rendered = render(mail, "ada@example.org", T0, base_url="http://t.example", secret_key=c.settings.secret_key,
                      tracking_allowed=True)
    [token] = re.findall(r"/v1/t/c/([\w-]+\.[\w-]+)", rendered.text)
    at = T0 + timedelta(hours=1)
    with c.engine.begin() as conn:
        link = engagement.link_of(token, c.settings.secret_key)
        assert link.url == "https://www.bancademo.example/brochure"
        assert engagement.clicked(conn, link, at)
    c.pipeline.run_until_idle()
    with c.engine.begin() as conn:
        after = store.get(conn, inst.id)
        sends = [(r.action.channel, r.action.text) for r in outbox.of_person(conn, person)
                 if r.action.journey == "brochure"]
    assert after is not None and after.status == "completed", after
    assert sorted(sends) == [("email", mail.text), ("push", "Grazie di aver letto la brochure.")]


def _person(c: Container) -> str:
    from bestnext.identity import services as identity

    with c.engine.connect() as conn:
        found = identity.find_person(conn, "email", "ada@example.org")
    assert found is not None
    return str(found)
