"""Roles, principals and secret handling."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"
    BRANCH = "branch"
    MARKETER = "marketer"
    ANALYST = "analyst"
    COMPLIANCE = "compliance"
    ADMIN = "admin"
    SOURCE = "source"  # a touchpoint's write key: may only send events


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an API key, a source's write key or a console user."""

    id: str
    name: str
    role: Role


def new_secret(prefix: str) -> str:
    """A fresh high-entropy secret, e.g. ``bn_live_...``.

    >>> new_secret("bn").startswith("bn_")
    True
    """
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret; what is stored (never the secret itself).

    >>> len(hash_secret("x"))
    64
    """
    return hashlib.sha256(secret.encode()).hexdigest()
