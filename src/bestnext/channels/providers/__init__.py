"""Provider adapters: each speaks one real protocol and takes the action id as idempotency key."""

from bestnext.channels.providers.base import Provider, SandboxProvider, http_error
from bestnext.channels.providers.email import SmtpProvider, message_id
from bestnext.channels.providers.files import BatchFileProvider
from bestnext.channels.providers.http import MetaProvider, TwilioProvider, WebhookProvider, send_keyed

__all__ = ["BatchFileProvider", "MetaProvider", "Provider", "SandboxProvider", "SmtpProvider",
           "TwilioProvider", "WebhookProvider", "http_error", "message_id", "send_keyed"]
