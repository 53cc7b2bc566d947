"""Load YAML keeping the line of every value, so that configuration errors name a line.

Examples
--------
>>> doc = load_with_lines("a:\\n  b: 1\\n  c: [x, y]\\n")
>>> doc.data
{'a': {'b': 1, 'c': ['x', 'y']}}
>>> doc.line_of(("a", "c", 1))
3
>>> doc.line_of(("a", "missing"))  # falls back to the nearest known ancestor
1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from bestnext.errors import ConfigInvalid

Path_ = tuple[str | int, ...]
# libyaml's parser (~10x faster than the pure-Python one: the catalog is parsed at every start)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class LinedDoc:
    """Parsed YAML data plus the 1-based line of each path in it."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            lines[child] = key.start_mark.line + 1
            _walk(value, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines)


def load_with_lines(text: str, source: str = "<yaml>") -> LinedDoc:
    """Parse ``text``; a syntax error becomes :class:`ConfigInvalid` with its line."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise ConfigInvalid(f"{source}: YAML syntax error",
                            errors=[{"line": line, "field": "", "message": str(exc.problem)}]) from None
    lines: dict[Path_, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return LinedDoc(data, lines)


__all__ = ["LinedDoc", "load_with_lines"]
