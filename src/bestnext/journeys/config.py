"""Loading journeys and signals from the bank's configuration directory, with line numbers.

Examples
--------
>>> errors = check_text("id: j\\nentry: []\\nsteps:\\n  - {id: a, do: wait, for: soon}\\n")
>>> errors[0]["line"], errors[0]["field"]
(4, 'steps.0.wait.for')
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bestnext.errors import ConfigInvalid
from bestnext.journeys.model import Journey, Signals

# libyaml's parser (~10x faster than the pure-Python one: the journeys are parsed at every start)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*path, key.value)] = key.start_mark.line + 1
            _lines(value, (*path, key.value), out)
            out[(*path, key.value)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)


def _line_of(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    path = tuple(x for x in loc if not (isinstance(x, str) and x[:1].isupper()))
    clean: list[Any] = []
    for part in path:
        if isinstance(part, str) and part in ("wait", "debounce", "wait_event", "branch", "decide", "send",
                                               "open_case", "update_traits", "count", "end"):
            continue
        clean.append(part)
    while clean and tuple(clean) not in lines:
        clean.pop()
    return lines.get(tuple(clean))


def check_text(text: str, source: str = "<journey>") -> list[dict[str, Any]]:
    """Validation errors of one journey file (empty when valid), each with line and field."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [{"source": source, "line": mark.line + 1 if mark else None, "field": None,
                 "message": str(exc).splitlines()[0]}]
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _lines(node, (), lines)
    try:
        Journey.model_validate(data)
    except ValidationError as exc:
        return [{"source": source, "line": _line_of(lines, tuple(e["loc"])),
                 "field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
    return []


def parse_journey(text: str, source: str) -> Journey:
    errors = check_text(text, source)
    if errors:
        raise ConfigInvalid(f"{source}: invalid journey", errors=errors)
    return Journey.model_validate(yaml.load(text, Loader=_LOADER))


@lru_cache(maxsize=8)
def load_journeys(config_dir: Path) -> tuple[Journey, ...]:
    """Every ``journeys/*.yaml`` of the bank, highest priority first."""
    found = [parse_journey(p.read_text(encoding="utf-8"), p.name)
             for p in sorted((config_dir / "journeys").glob("*.yaml"))]
    return tuple(sorted(found, key=lambda j: -j.priority))


@lru_cache(maxsize=8)
def load_signals(config_dir: Path) -> Signals:
    path = config_dir / "signals.yaml"
    if not path.exists():
        return Signals()
    return Signals.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
