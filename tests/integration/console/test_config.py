"""Journeys and catalog screens: list, diagram with live counts, validation of edited YAML."""

from __future__ import annotations

import re

from bestnext.access import Role
from bestnext.bootstrap import Container
from tests.integration.console.helpers import client_for, load_scenario, login, make_user

HTML = {"accept": "text/html"}


def test_marketer_sees_journeys_with_live_counts_and_validates_yaml(container: Container) -> None:
    load_scenario(container, "martina")
    make_user(container, "marketing", Role.MARKETER)
    with client_for(container) as client:
        csrf = login(client, "marketing")
        listing = client.get("/console/journeys", headers=HTML).text
        assert 'href="/console/journeys/lead"' in listing
        page = client.get("/console/journeys/lead", headers=HTML).text
        assert 'data-testid="diagram"' in page and 'id="step-contact"' in page and "lead_first_contact" in page
        live = client.get("/console/journeys/lead", headers={"hx-request": "true"}).text
        assert "<html" not in live and 'id="step-contact"' in live
        text = re.search(r'<textarea id="yaml" name="text"[^>]*>(.*?)</textarea>', page, re.S)
        assert text
        ok = client.post("/console/journeys/validate", data={"csrf_token": csrf, "text": _unescape(text.group(1))})
        assert 'data-testid="validation-ok"' in ok.text
        broken = _unescape(text.group(1)).replace("on_timeout: attempt", "on_timeout: nowhere")
        bad = client.post("/console/journeys/validate", data={"csrf_token": csrf, "text": broken})
        assert 'data-testid="validation-errors"' in bad.text and "nowhere" in bad.text


def test_catalog_lists_actions_and_offers_and_validates_an_edit(container: Container) -> None:
    make_user(container, "marketing", Role.MARKETER)
    with client_for(container) as client:
        csrf = login(client, "marketing")
        page = client.get("/console/catalog", headers=HTML).text
        assert "offer_prepaid_card" in page and "first_year_free" in page and "age &lt;= 35" in page
        text = _unescape(re.search(r'<textarea id="yaml" name="text"[^>]*>(.*?)</textarea>', page, re.S).group(1))  # type: ignore[union-attr]
        ok = client.post("/console/catalog/validate", data={"csrf_token": csrf, "text": text})
        assert 'data-testid="validation-ok"' in ok.text and "actions" in ok.text
        bad = client.post("/console/catalog/validate",
                          data={"csrf_token": csrf, "text": text.replace("purpose: marketing", "purpose: spam", 1)})
        assert 'data-testid="validation-errors"' in bad.text and "line" in bad.text


def _unescape(html: str) -> str:
    import html as h

    return h.unescape(html)
