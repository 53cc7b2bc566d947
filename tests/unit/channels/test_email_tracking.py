"""Email engagement tracking, pure parts: signed tokens (forgery refused), link rewriting that
only ever points back at the message's own links (no open redirect), no tracking without the
person's profiling consent (the consent policy's ``engagement_tracking``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bestnext.channels import engagement, ports
from bestnext.channels.model import OutboundAction
from bestnext.channels.render import render
from bestnext.channels.signatures import (
    _b64,
    _unb64,
    click_token,
    open_token,
    read_tracking_token,
    unsubscribe_token,
)
from bestnext.consent.model import ConsentEntry, ConsentState, Purpose, Source, Use
from bestnext.consent.policy import may
from bestnext.errors import Unauthorized

T0 = datetime(2025, 2, 18, 9, 0, tzinfo=UTC)
BASE = "https://bank.example"
KEY = "secret-key"
TEXT = ("Ciao Martina,\n\nscopri il mutuo: https://www.bancademo.example/mutuo?utm=email&x=1.\n\n"
        "Domande? Scrivi a <mailto:help@bancademo.example> o vai su https://www.bancademo.example/faq")


def email(text: str = TEXT) -> OutboundAction:
    return OutboundAction(person_id="p-1", channel="email", purpose="marketing", action="offer_family_mortgage",
                          product="family_mortgage", due_at=T0, text=text, data={"decision_id": "d-1"})


def test_tokens_round_trip_and_carry_no_personal_data() -> None:
    click = click_token("a-1", 3, "https://x.example/p?q=1|2", KEY)
    assert read_tracking_token(click, KEY) == ("click", "a-1", 3, "https://x.example/p?q=1|2")
    assert read_tracking_token(open_token("a-1", KEY), KEY) == ("open", "a-1", None, None)
    assert "p-1" not in _unb64(click.split(".")[0]).decode()


@pytest.mark.parametrize("forge", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature altered
    lambda t: _b64(_unb64(t.split(".")[0]).replace(b"x.example", b"evil.example")) + "." + t.split(".")[1],
    lambda t: t.split(".")[0],  # no signature
    lambda t: "",
    lambda t: "not-a-token.@@@",
    lambda t: click_token("a-1", 0, "https://x.example/", "another-key"),  # signed with another key
    lambda t: unsubscribe_token("p-1", "email", KEY),  # signed by us, for another use
])
def test_forged_or_foreign_tokens_are_refused(forge: object) -> None:
    token = click_token("a-1", 0, "https://x.example/", KEY)
    with pytest.raises(Unauthorized):
        read_tracking_token(forge(token), KEY)  # type: ignore[operator]


def test_a_signed_token_never_redirects_off_the_web() -> None:
    for url in ("javascript:alert(1)", "data:text/html,x", "//evil.example", "file:///etc/passwd"):
        with pytest.raises(Unauthorized):
            read_tracking_token(click_token("a-1", 0, url, KEY), KEY)


def _targets(part: str) -> list[str]:
    """Where each tracked link of a rendered part leads (its token read back)."""
    tokens = re.findall(r"/v1/t/c/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)", part)
    return [str(read_tracking_token(t, KEY).url) for t in tokens]


def test_tracked_links_lead_only_where_the_message_pointed() -> None:
    action = email()
    plain = render(action, "m@example.org", T0, base_url=BASE, secret_key=KEY)
    tracked = render(action, "m@example.org", T0, base_url=BASE, secret_key=KEY, tracking_allowed=True)
    assert tracked.html is not None and plain.html is not None
    originals = {"https://www.bancademo.example/mutuo?utm=email&x=1", "https://www.bancademo.example/faq"}
    # every web link of both parts is tracked; each one leads to a URL of the untracked message
    assert set(_targets(tracked.text)) == set(_targets(tracked.html)) == originals
    assert all(url in plain.text for url in originals)
    assert 'href="https://www.bancademo.example' not in tracked.html
    assert all(url not in tracked.text for url in originals)
    # the same link has the same token in HTML and text: one click per action and link
    assert sorted(set(re.findall(r"/v1/t/c/[^\s\"<>.]+\.[\w-]+", tracked.text))) == \
        sorted(set(re.findall(r"/v1/t/c/[^\s\"<>.]+\.[\w-]+", tracked.html)))
    # our own unsubscribe link stays direct (header and both parts); mailto is left alone
    unsubscribe = tracked.headers["List-Unsubscribe"].strip("<>")
    assert unsubscribe in tracked.text and unsubscribe in tracked.html and "/v1/t/" not in unsubscribe
    assert "mailto:help@bancademo.example" in tracked.text
    # one pixel, at the end of the body, whose token is an open of this action
    [pixel] = re.findall(r'<img src="https://bank\.example/v1/t/o/([^"]+)\.gif"', tracked.html)
    assert read_tracking_token(pixel, KEY) == ("open", action.id, None, None)
    assert tracked.html.index(pixel) < tracked.html.index("</body>")


def test_the_html_link_of_an_escaped_url_leads_to_the_raw_url() -> None:
    tracked = render(email("Vai: https://a.example/x?a=1&b=<2>"), "m@example.org", T0, base_url=BASE,
                     secret_key=KEY, tracking_allowed=True)
    assert tracked.html is not None
    assert _targets(tracked.html) == ["https://a.example/x?a=1&b="]
    assert "<2>" not in tracked.html and "&lt;2&gt;" in tracked.html


def test_without_tracking_the_email_has_no_pixel_and_no_tracked_link() -> None:
    plain = render(email(), "m@example.org", T0, base_url=BASE, secret_key=KEY)
    assert plain.html is not None
    assert "/v1/t/" not in plain.html and "/v1/t/" not in plain.text and "<img" not in plain.html
    assert '<a href="https://www.bancademo.example/faq">' in plain.html  # the text's link is clickable


def _state(*grants: tuple[Purpose, bool, datetime]) -> ConsentState:
    return ConsentState.of("p-1", [ConsentEntry(p, g, Source("web"), at) for p, g, at in grants])


def test_tracking_needs_profiling_consent() -> None:
    marketing_only = _state((Purpose.PERSONAL_DATA, True, T0), (Purpose.OWN_MARKETING, True, T0))
    assert may(marketing_only, "marketing", ["declared"], "email", T0).allowed
    assert not ports.may_track(marketing_only, T0)
    assert not may(marketing_only, Use.ENGAGEMENT_TRACKING, ["behavioural"], "email", T0).allowed
    later = T0 + timedelta(days=1)
    profiled = _state((Purpose.PERSONAL_DATA, True, T0), (Purpose.PROFILING, True, T0),
                      (Purpose.PROFILING, False, later))
    assert ports.may_track(profiled, T0)
    assert not ports.may_track(profiled, later)  # withdrawn: nothing is tracked any more
    assert not ports.may_track(ConsentState("p-1"), T0)  # absent means refused


def test_each_path_takes_only_its_own_token() -> None:
    click, opening = click_token("a-1", 0, "https://x.example/", KEY), open_token("a-1", KEY)
    assert engagement.open_of(opening, KEY) == "a-1"
    assert engagement.open_of(click, KEY) is None and engagement.open_of(opening[:-1] + "A", KEY) is None
    assert engagement.link_of(click, KEY).url == "https://x.example/"
    with pytest.raises(Unauthorized):
        engagement.link_of(opening, KEY)


_word = st.text(st.sampled_from("abcdeèì <>&\"'.,;:!?()[]\n"), max_size=12)
_url = st.builds(lambda host, path, query: f"https://{host}.example/{path}{query}",
                 st.text(st.sampled_from("abcxyz-"), min_size=1, max_size=8),
                 st.text(st.sampled_from("abc/._~%-"), max_size=10),
                 st.sampled_from(["", "?a=1&b=2", "?q=<x>", "#top", "?u=é"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_word, _url), min_size=1, max_size=12))
def test_every_tracked_link_leads_to_a_link_of_the_message(pieces: list[str]) -> None:
    action = email(" ".join(pieces))
    plain = render(action, "m@example.org", T0, base_url=BASE, secret_key=KEY)
    tracked = render(action, "m@example.org", T0, base_url=BASE, secret_key=KEY, tracking_allowed=True)
    assert tracked.html is not None and plain.html is not None
    targets = _targets(tracked.text) + _targets(tracked.html)
    assert all(url in plain.text and url.startswith("https://") for url in targets)
    assert set(_targets(tracked.html)) == set(_targets(tracked.text))
    assert "/v1/t/" not in plain.text + plain.html
