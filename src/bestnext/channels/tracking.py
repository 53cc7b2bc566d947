"""Email engagement tracking, the pure part: links rewritten to signed redirects and an open pixel.

Only messages whose person allows ``engagement_tracking`` (the consent policy: profiling) are
tracked; the dispatcher decides that and :func:`bestnext.channels.render.render` calls
:func:`track`. Every ``http(s)`` link of the HTML part (``<a href>``) and of the text part
becomes ``{base}/v1/t/c/{token}``; the token is signed and names the action id, the link's
number and its URL, so the redirect can only lead where the message pointed. The links are
numbered by their first appearance, the same URL once (HTML and text share the number), so a
click counts once per action and link. Our own links (one-click unsubscribe) stay direct. The
pixel ``{base}/v1/t/o/{token}.gif`` goes just before ``</body>``.

Examples
--------
>>> text, html = track("Scopri: https://bank.example/mutuo.", '<p><a href="https://bank.example/mutuo">'
...                    'Mutuo</a></p></body>', "a-1", base_url="https://t.example", secret_key="k")
>>> text.startswith("Scopri: https://t.example/v1/t/c/") and text.endswith(".")
True
>>> link = text.split()[1].rstrip(".")
>>> link in html and "/v1/t/o/" in html and html.endswith("</body>")
True
>>> links_of("Vai su https://a.example/x, poi https://a.example/x o <mailto:x@y>.")
['https://a.example/x']
"""

from __future__ import annotations

import html as htmlmod
import re
from collections.abc import Collection

from markupsafe import Markup, escape

from bestnext.channels.signatures import click_token, open_token

# a URL in plain text: up to whitespace or a quote/bracket; trailing punctuation is prose
_TEXT_URL = re.compile(r"""https?://[^\s<>"'()\[\]]+""", re.IGNORECASE)
_TRAILING = ".,;:!?"
# an anchor's href in HTML our templates produced (double or single quotes)
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def _text_urls(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, url)`` of each URL in ``text``, trailing punctuation left out."""
    found = []
    for m in _TEXT_URL.finditer(text):
        url = m.group(0).rstrip(_TRAILING)
        found.append((m.start(), m.start() + len(url), url))
    return found


def _is_web(url: str) -> bool:
    return url.lower().startswith(("https://", "http://"))


def links_of(text: str, html: str = "", skip: Collection[str] = ()) -> list[str]:
    """The distinct web links of a message, numbered by first appearance (HTML first)."""
    seen: dict[str, None] = {}
    for m in _HREF.finditer(html):
        url = htmlmod.unescape(m.group(3)).strip()
        if _is_web(url) and url not in skip:
            seen.setdefault(url)
    for _s, _e, url in _text_urls(text):
        if url not in skip:
            seen.setdefault(url)
    return list(seen)


def click_url(base_url: str, action_id: str, link: int, url: str, secret_key: str) -> str:
    return f"{base_url.rstrip('/')}/v1/t/c/{click_token(action_id, link, url, secret_key)}"


def open_url(base_url: str, action_id: str, secret_key: str) -> str:
    return f"{base_url.rstrip('/')}/v1/t/o/{open_token(action_id, secret_key)}.gif"


def track(text: str, html: str, action_id: str, *, base_url: str, secret_key: str,
          skip: Collection[str] = ()) -> tuple[str, str]:
    """``(text, html)`` with their web links (but ``skip``) rewritten and the pixel added."""
    numbers = {url: n for n, url in enumerate(links_of(text, html, skip))}

    def tracked(url: str) -> str:
        return click_url(base_url, action_id, numbers[url], url, secret_key) if url in numbers else url

    def href(m: re.Match[str]) -> str:
        url = htmlmod.unescape(m.group(3)).strip()
        return f"{m.group(1)}{m.group(2)}{tracked(url) if url in numbers else m.group(3)}{m.group(2)}"

    out, last = [], 0
    for start, end, url in _text_urls(text):
        out += [text[last:start], tracked(url)]
        last = end
    new_text = "".join(out) + text[last:]
    new_html = _HREF.sub(href, html)
    pixel = (f'<img src="{open_url(base_url, action_id, secret_key)}" width="1" height="1" alt="" '
             'style="display:block;width:1px;height:1px;border:0">')
    ends = list(_BODY_END.finditer(new_html))
    if ends:
        at = ends[-1].start()
        return new_text, new_html[:at] + pixel + new_html[at:]
    return new_text, new_html + pixel


def linkify(text: str) -> Markup:
    """``text`` escaped for HTML with its web URLs made links (a Jinja filter of the email
    templates, so that a treatment's URL can be clicked in the HTML part).

    >>> str(linkify("Vedi https://a.example/x?a=1&b=2. <b>"))
    'Vedi <a href="https://a.example/x?a=1&amp;b=2">https://a.example/x?a=1&amp;b=2</a>. &lt;b&gt;'
    """
    out, last = [], 0
    for start, end, url in _text_urls(text):
        out += [str(escape(text[last:start])), f'<a href="{escape(url)}">{escape(url)}</a>']
        last = end
    return Markup("".join(out) + str(escape(text[last:])))  # noqa: S704 - every part escaped above
