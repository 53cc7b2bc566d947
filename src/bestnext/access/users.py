"""Console users: the bank's people who log in to the web console.

Passwords are hashed with argon2id (``argon2-cffi``); only the hash is stored. Sessions are
rows in ``console_sessions``: the browser holds a signed, opaque session id, so that logging
out or disabling a user ends the session at once.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Row, select, update

from bestnext.access.model import Principal, Role
from bestnext.access.users_tables import console_sessions, console_users
from bestnext.errors import Conflict, InvalidInput, NotFound

# OWASP's argon2id minimum (19 MiB, 2 iterations): safe, and quick enough for a shared laptop.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = _HASHER.hash("not-a-real-password")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
CONSOLE_ROLES = tuple(r for r in Role if r is not Role.SOURCE)
SESSION_TTL = timedelta(hours=12)
MIN_PASSWORD = 10
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """A person who may log in to the console."""

    id: str
    username: str
    display_name: str
    role: Role
    branch_id: str | None
    created_at: datetime
    disabled_at: datetime | None

    @property
    def principal(self) -> Principal:
        """The principal the API dependencies accept for this user."""
        return Principal(self.id, self.username, self.role)


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in browser: the user and the CSRF token of its forms."""

    id: str
    user: ConsoleUser
    csrf_token: str
    expires_at: datetime


def validate_new_user(username: str, role: Role, password: str, branch_id: str | None) -> list[dict[str, str]]:
    """The problems with a new user's fields (empty when it is valid).

    >>> validate_new_user("luigi", Role.AGENT, "long-enough-pw", None)
    []
    >>> [e["field"] for e in validate_new_user("X!", Role.BRANCH, "short", None)]
    ['username', 'password', 'branch_id']
    """
    errors = []
    if not _USERNAME.match(username):
        errors.append({"field": "username", "message": "2-64 characters: a-z, 0-9, '.', '_' or '-'."})
    if role is Role.SOURCE:
        errors.append({"field": "role", "message": "A console user cannot have the role 'source'."})
    if len(password) < MIN_PASSWORD:
        errors.append({"field": "password", "message": f"At least {MIN_PASSWORD} characters."})
    if role is Role.BRANCH and not branch_id:
        errors.append({"field": "branch_id", "message": "A branch user needs a branch id."})
    return errors


def create_user(conn: Connection, username: str, role: Role, password: str, now: datetime, *,
                display_name: str | None = None, branch_id: str | None = None) -> ConsoleUser:
    """Create a console user; raises :class:`InvalidInput` or :class:`Conflict`."""
    username = username.strip().lower()
    errors = validate_new_user(username, role, password, branch_id)
    if errors:
        raise InvalidInput("The user is not valid.", errors=errors)
    if _row_by_username(conn, username) is not None:
        raise Conflict(f"A user named '{username}' already exists.")
    user_id = str(uuid.uuid4())
    conn.execute(console_users.insert().values(
        id=user_id, username=username, display_name=display_name or username, role=role.value,
        branch_id=branch_id, password_hash=_HASHER.hash(password), created_at=now))
    return ConsoleUser(user_id, username, display_name or username, role, branch_id, now, None)


def authenticate(conn: Connection, username: str, password: str, now: datetime) -> ConsoleUser | None:
    """The active user with these credentials, or None (same work whether or not it exists).

    After :data:`MAX_FAILURES` consecutive failures the user is locked out for
    :data:`LOCKOUT`, even with the right password (online guessing stops there).
    """
    row = _row_by_username(conn, username.strip().lower())
    try:
        _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
        good = True
    except (VerificationError, InvalidHashError):
        good = False
    if row is None or row.disabled_at is not None:
        return None
    if row.locked_until is not None and row.locked_until > now:
        return None
    if not good:
        failures = row.failed_logins + 1
        locked = now + LOCKOUT if failures >= MAX_FAILURES else None
        conn.execute(update(console_users).where(console_users.c.id == row.id).values(
            failed_logins=0 if locked else failures, locked_until=locked))
        return None
    if row.failed_logins or row.locked_until:
        conn.execute(update(console_users).where(console_users.c.id == row.id).values(
            failed_logins=0, locked_until=None))
    return _user(row)


def start_session(conn: Connection, user: ConsoleUser, now: datetime) -> Session:
    """Open a session for ``user`` (after :func:`authenticate`)."""
    session = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), now + SESSION_TTL)
    conn.execute(console_sessions.insert().values(
        id=session.id, user_id=user.id, csrf_token=session.csrf_token, created_at=now,
        expires_at=session.expires_at))
    return session


def find_session(conn: Connection, session_id: str, now: datetime) -> Session | None:
    """The live session with this id (not ended, not expired, user not disabled)."""
    query = (select(console_sessions, console_users.c.id.label("uid"), console_users.c.username,
                    console_users.c.display_name, console_users.c.role, console_users.c.branch_id,
                    console_users.c.created_at.label("user_created_at"), console_users.c.disabled_at)
             .join(console_users, console_users.c.id == console_sessions.c.user_id)
             .where(console_sessions.c.id == session_id, console_sessions.c.ended_at.is_(None),
                    console_sessions.c.expires_at > now, console_users.c.disabled_at.is_(None)))
    row = conn.execute(query).first()
    if row is None:
        return None
    user = ConsoleUser(row.uid, row.username, row.display_name, Role(row.role), row.branch_id,
                       row.user_created_at, None)
    return Session(row.id, user, row.csrf_token, row.expires_at)


def end_session(conn: Connection, session_id: str, now: datetime) -> None:
    """Log out: the session id stops working at once."""
    conn.execute(update(console_sessions).where(console_sessions.c.id == session_id).values(ended_at=now))


def disable_user(conn: Connection, username: str, now: datetime) -> None:
    """Disable a user and end their sessions."""
    row = _row_by_username(conn, username.strip().lower())
    if row is None:
        raise NotFound(f"No user named '{username}'.")
    conn.execute(update(console_users).where(console_users.c.id == row.id).values(disabled_at=now))
    conn.execute(update(console_sessions).where(console_sessions.c.user_id == row.id,
                                                console_sessions.c.ended_at.is_(None)).values(ended_at=now))


def list_users(conn: Connection) -> list[ConsoleUser]:
    rows = conn.execute(select(console_users).order_by(console_users.c.username))
    return [_user(r) for r in rows]


def get_user(conn: Connection, username: str) -> ConsoleUser | None:
    row = _row_by_username(conn, username.strip().lower())
    return _user(row) if row else None


# The demo bank's people (docs/ids: operators Luigi and Isabella, Mr Verdi at branch MI02).
DEMO_USERS: tuple[tuple[str, str, Role, str | None], ...] = (
    ("luigi", "Luigi (call center)", Role.AGENT, None),
    ("isabella", "Isabella (call center)", Role.AGENT, None),
    ("verdi", "Sig. Verdi (filiale MI02)", Role.BRANCH, "MI02"),
    ("bianchi", "Sig.ra Bianchi (filiale MI01)", Role.BRANCH, "MI01"),
    ("marketing", "Marketing", Role.MARKETER, None),
    ("analyst", "Analytics", Role.ANALYST, None),
    ("compliance", "Compliance", Role.COMPLIANCE, None),
    ("admin", "Administrator", Role.ADMIN, None),
)


def demo_password(username: str) -> str:
    """The well-known password of a demo user (the demo bank only; never in production).

    >>> demo_password("luigi")
    'luigi-demo-2025'
    """
    return f"{username}-demo-2025"


def create_demo_users(conn: Connection, now: datetime) -> list[tuple[str, str, Role]]:
    """Create the demo users that do not exist yet; returns every demo login."""
    logins = []
    for username, name, role, branch in DEMO_USERS:
        if _row_by_username(conn, username) is None:
            create_user(conn, username, role, demo_password(username), now,
                        display_name=name, branch_id=branch)
        logins.append((username, demo_password(username), role))
    return logins


def _row_by_username(conn: Connection, username: str) -> Row[tuple[object, ...]] | None:
    return conn.execute(select(console_users).where(console_users.c.username == username)).first()


def _user(row: Row[tuple[object, ...]]) -> ConsoleUser:
    m = row._mapping
    return ConsoleUser(str(m["id"]), str(m["username"]), str(m["display_name"]), Role(m["role"]),
                       m["branch_id"], m["created_at"], m["disabled_at"])


__all__ = [
    "CONSOLE_ROLES",
    "ConsoleUser",
    "Session",
    "authenticate",
    "create_demo_users",
    "create_user",
    "demo_password",
    "disable_user",
    "end_session",
    "find_session",
    "get_user",
    "list_users",
    "start_session",
]
