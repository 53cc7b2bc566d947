"""`make bench`: runs every benchmark module and writes ``var/bench.json``.

Each entry of ``SUITES`` is a module of this package with ``run(workdir: Path) -> dict``.
Select some with ``python -m bestnext.bench ingest decisions``.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

SUITES: list[str] = ["ingest", "identity", "journeys", "decisions", "dispatch", "console_search", "consent", "learning", "scaleout"]

console = Console()


def main(argv: list[str]) -> None:
    chosen = argv or SUITES
    out = Path("var/bench.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = json.loads(out.read_text()) if out.exists() else {}
    results["machine"] = {"python": platform.python_version(), "platform": platform.platform(),
                          "cpus": __import__("os").cpu_count()}
    for name in chosen:
        console.rule(f"bench: {name}")
        started = time.monotonic()
        module = importlib.import_module(f"bestnext.bench.{name}")
        workdir = Path("var/bench") / name
        workdir.mkdir(parents=True, exist_ok=True)
        result = module.run(workdir)
        result["seconds"] = round(time.monotonic() - started, 1)
        result["at"] = datetime.now(UTC).isoformat()
        results[name] = result
        console.print_json(json.dumps(result, default=str))
        out.write_text(json.dumps(results, indent=2, default=str))
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
