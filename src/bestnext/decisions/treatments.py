"""Rendering of treatments: Jinja2 text templates in a sandbox (no attribute tricks, no I/O).

Examples
--------
>>> render("Ciao {{ first_name }}, {{ offer_name | default('') }}!", {"first_name": "Martina"})
'Ciao Martina, !'
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import Template
from jinja2.sandbox import ImmutableSandboxedEnvironment

ENV = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=4096)
def _compiled(source: str) -> Template:
    template = ENV.from_string(source)
    # Jinja keeps a ChainMap over the environment's globals and copies it into every render
    # context (slow to iterate); ENV's globals never change, so a flat dict is the same
    template.globals = dict(template.globals)
    return template


def render(source: str, variables: Mapping[str, Any]) -> str:
    """Render a treatment template with ``variables`` (missing ones render empty)."""
    return _compiled(source).render(**variables).strip()


__all__ = ["ENV", "render"]
