"""Loading the demo bank into the configured database, and replaying the seed histories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bestnext.bootstrap import Container, build
from bestnext.cli.common import console
from bestnext.clock import VirtualClock
from bestnext.migrate import upgrade

SEEDS = Path(__file__).resolve().parent.parent / "demo_bank" / "scenarios"


def load_demo(c: Container) -> dict[str, Any]:
    """Migrate; create the demo source, an admin key and the console's demo users."""
    from bestnext.access import Role
    from bestnext.access import store as keys
    from bestnext.ingest import services as ingest
    from bestnext.ingest import store as ingest_store

    upgrade(c.engine)
    now = c.clock.now()
    out: dict[str, Any] = {"users": []}
    with c.engine.begin() as conn:
        if ingest_store.find_by_name(conn, "demo") is None:
            source, write_key = ingest.create_source(conn, "demo", "web", now)
            out["write_key"] = write_key
        _key_id, out["admin_key"] = keys.create_key(conn, "demo-admin", Role.ADMIN, now)
        try:
            from bestnext.access.users import create_demo_users

            out["users"] = create_demo_users(conn, now)
        except ImportError:
            pass
    return out


def replay_seeds(c: Container) -> int:
    """Replay the seed histories into the live database on a virtual clock; returns actions sent."""
    from bestnext.replay.driver import Driver, default_until, parse_lines

    lines = []
    for path in sorted(SEEDS.glob("*.jsonl")):
        lines += parse_lines(path.read_text(encoding="utf-8")).lines
    if not lines:
        return 0
    lines.sort(key=lambda line: line.at)
    clock = VirtualClock(lines[0].at)
    virtual = build(c.settings, clock, configure_logging=False)
    try:
        Driver(virtual, clock).run(lines, default_until(lines))
    finally:
        virtual.dispose()
    return len(lines)


def print_logins(out: dict[str, Any]) -> None:
    if out.get("write_key"):
        console.print(f"demo source write key: {out['write_key']}")
    console.print(f"admin API key: {out['admin_key']}")
    for user in out.get("users", []):
        console.print(f"console login: {user[0]} / {user[1]} ({user[2]})")
