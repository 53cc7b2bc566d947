"""What is waiting for the person who just logged in (the home page's summary)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

from bestnext.access.permissions import Permission
from bestnext.access.users import Session
from bestnext.channels import branch, calls
from bestnext.channels.config import operators_config
from bestnext.console.session import allowed

OPEN_TASKS = ("open", "escalated", "claimed")


def work_summary(conn: Connection, session: Session, config_dir: Path) -> dict[str, int]:
    """Open call tasks (and those claimed by this user), and expected branch visits."""
    if not allowed(session, Permission.CONTACTS_WORK):
        return {}
    queue = operators_config(config_dir).call_center.queue
    tasks = [t for t in calls.list_tasks(conn, queue=queue, limit=1000) if t.status in OPEN_TASKS]
    visits = branch.list_for_branch(conn, session.user.branch_id, "expected")
    return {"open_tasks": len(tasks), "my_tasks": sum(t.operator == session.user.username for t in tasks),
            "expected_visits": len(visits)}
