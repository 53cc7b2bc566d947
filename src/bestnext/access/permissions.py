"""The permission matrix, in one place: permission -> roles that hold it.

Routes declare what they need with ``Depends(require(Permission.X))`` (``api.deps``); admins
hold every permission. ``tests/integration/test_access_matrix.py`` walks every route of the
app with every role and checks this matrix is what the API enforces. A route that needs no
key (health, docs, Segment ingestion with write keys, console login) is listed in
``PUBLIC_ROUTES``; any other route without ``require`` fails that test.
"""

from __future__ import annotations

from enum import StrEnum

from bestnext.access.model import Role


class Permission(StrEnum):
    EVENTS_WRITE = "events:write"  # send events (sources' write keys)
    PROFILES_READ = "profiles:read"  # read profiles (pseudonymised unless PROFILES_IDENTIFIED)
    PROFILES_IDENTIFIED = "profiles:identified"  # see identifiers and names in profiles
    CONSENTS_READ = "consents:read"
    CONSENTS_WRITE = "consents:write"
    DECISIONS_REQUEST = "decisions:request"  # ask for next best actions, record their outcomes
    DECISIONS_READ = "decisions:read"  # model monitoring, contact-policy answers, the at-risk list
    CONTACTS_WORK = "contacts:work"  # call tasks, branch briefings, service cases, outcomes
    OUTBOX_MANAGE = "outbox:manage"  # redrive failed outbound actions
    PEOPLE_UNMERGE = "people:unmerge"  # undo a wrong merge of two people
    JOURNEYS_MANAGE = "journeys:manage"
    CATALOG_MANAGE = "catalog:manage"
    ANALYTICS_READ = "analytics:read"
    PRIVACY_EXPORT = "privacy:export"
    PRIVACY_ERASE = "privacy:erase"
    RETENTION_RUN = "retention:run"
    AUDIT_READ = "audit:read"
    KEYS_MANAGE = "keys:manage"
    USERS_MANAGE = "users:manage"
    METRICS_READ = "metrics:read"
    REPLAY_RUN = "replay:run"


A, B, M, N, C = Role.AGENT, Role.BRANCH, Role.MARKETER, Role.ANALYST, Role.COMPLIANCE

MATRIX: dict[Permission, frozenset[Role]] = {
    Permission.EVENTS_WRITE: frozenset({Role.SOURCE}),
    Permission.PROFILES_READ: frozenset({A, B, M, N, C}),
    Permission.PROFILES_IDENTIFIED: frozenset({A, B, C}),
    Permission.CONSENTS_READ: frozenset({A, B, C}),
    Permission.CONSENTS_WRITE: frozenset({A, B, C}),
    Permission.DECISIONS_REQUEST: frozenset({A, B, M}),
    Permission.DECISIONS_READ: frozenset({A, B, M, N, C}),
    Permission.CONTACTS_WORK: frozenset({A, B}),
    Permission.OUTBOX_MANAGE: frozenset(),
    Permission.PEOPLE_UNMERGE: frozenset(),
    Permission.JOURNEYS_MANAGE: frozenset({M}),
    Permission.CATALOG_MANAGE: frozenset({M}),
    Permission.ANALYTICS_READ: frozenset({M, N, C}),
    Permission.PRIVACY_EXPORT: frozenset({C}),
    Permission.PRIVACY_ERASE: frozenset({C}),
    Permission.RETENTION_RUN: frozenset({C}),
    Permission.AUDIT_READ: frozenset({C}),
    Permission.KEYS_MANAGE: frozenset(),
    Permission.USERS_MANAGE: frozenset(),
    Permission.METRICS_READ: frozenset({N}),
    Permission.REPLAY_RUN: frozenset({M, N}),
}

# Routes that need no API key (path templates): public pages, or routes that authenticate
# another way. Everything else must use ``require`` (API) or a console permission guard.
PUBLIC_ROUTES: set[str] = {
    "/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc",
    # console: the login form and logout (the session is the credential)
    "/login", "/logout",
    # ingest: Segment / RudderStack write keys (Basic auth or writeKey in the body), CloudEvents
    "/v1/batch", "/v1/b", "/v1/import", "/v1/events", "/v1/track", "/v1/t", "/v1/identify", "/v1/i",
    "/v1/page", "/v1/p", "/v1/screen", "/v1/s", "/v1/alias", "/v1/a", "/v1/group", "/v1/g",
    "/v1/projects/{write_key}/settings",  # analytics.js settings: the write key is the credential
    # channels: provider signatures, signed one-click unsubscribe and email tracking tokens
    "/v1/webhooks/twilio/sms", "/v1/webhooks/twilio/status", "/v1/webhooks/meta", "/v1/webhooks/generic",
    "/v1/unsubscribe/{token}", "/v1/t/o/{token}.gif", "/v1/t/c/{token}",
}


def roles_for(permission: Permission) -> frozenset[Role]:
    """Roles holding ``permission`` (admins hold them all).

    >>> sorted(r.value for r in roles_for(Permission.AUDIT_READ))
    ['admin', 'compliance']
    """
    return MATRIX[permission] | {Role.ADMIN}


def allows(role: Role, *permissions: Permission) -> bool:
    """Whether ``role`` holds every one of ``permissions``.

    >>> allows(Role.ANALYST, Permission.PROFILES_READ), allows(Role.ANALYST, Permission.PROFILES_IDENTIFIED)
    (True, False)
    """
    return all(role in roles_for(p) for p in permissions)


def register_public(*paths: str) -> None:
    """Declare routes that authenticate another way or not at all (one line per context)."""
    PUBLIC_ROUTES.update(paths)
