"""The one error tree of bestnext.

::

    BestnextError (500)
    ├── InvalidInput (422)           -- a request or message failed validation
    │   ├── PayloadTooLarge (413)
    │   └── ConfigInvalid (422)      -- a YAML configuration file is wrong
    ├── Unauthorized (401)
    │   └── LoginRequired (401)      -- no console session (browsers are sent to /login)
    ├── Forbidden (403)
    ├── NotFound (404)
    ├── Conflict (409)
    │   └── IdentityConflict (409)   -- two different customer numbers would merge
    └── Unavailable (503)

Each class's docstring is its default message; ``status`` is the HTTP status the single
problem+json handler uses.
"""

from __future__ import annotations

from typing import Any


class BestnextError(Exception):
    """Internal error."""

    status: int = 500

    def __init__(self, detail: str | None = None, *, errors: list[dict[str, Any]] | None = None) -> None:
        self.detail = detail or (type(self).__doc__ or "").strip().splitlines()[0]
        self.errors = errors or []
        super().__init__(self.detail)

    @property
    def title(self) -> str:
        return (type(self).__doc__ or "").strip().splitlines()[0]

    @property
    def type_slug(self) -> str:
        name = type(self).__name__
        return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


class InvalidInput(BestnextError):
    """The input is not valid."""

    status = 422


class PayloadTooLarge(InvalidInput):
    """The payload is larger than allowed."""

    status = 413


class ConfigInvalid(InvalidInput):
    """The configuration is not valid."""


class Unauthorized(BestnextError):
    """Missing or invalid credentials."""

    status = 401


class LoginRequired(Unauthorized):
    """Log in to the console first."""


class Forbidden(BestnextError):
    """This role may not do that."""

    status = 403


class NotFound(BestnextError):
    """Not found."""

    status = 404


class Conflict(BestnextError):
    """The request conflicts with the current state."""

    status = 409


class IdentityConflict(Conflict):
    """Two different customer numbers cannot belong to one person."""


class Unavailable(BestnextError):
    """The service is temporarily unavailable."""

    status = 503


__all__ = [
    "BestnextError",
    "ConfigInvalid",
    "Conflict",
    "Forbidden",
    "IdentityConflict",
    "InvalidInput",
    "LoginRequired",
    "NotFound",
    "PayloadTooLarge",
    "Unauthorized",
    "Unavailable",
]
