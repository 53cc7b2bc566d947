"""Channels and assisted work: the transactional outbox, dispatch to real providers (or the
sandbox), inbound webhooks, call tasks, branch briefings and service cases.

Public surface for other contexts: :func:`outbox.enqueue` with :class:`OutboundAction`,
:func:`outbox.sent_actions`, :func:`outbox.next_due_at`, :func:`cases.has_open_case`,
:func:`cases.open_case`, and the dispatcher built by :func:`wiring.dispatcher`.
"""

from bestnext.channels.model import OutboundAction, OutboxRow, Status

__all__ = ["OutboundAction", "OutboxRow", "Status"]
