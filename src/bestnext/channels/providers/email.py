"""Email over SMTP (stdlib ``smtplib``/``email``), STARTTLS and auth when configured.

The action id becomes the ``Message-ID`` (:func:`message_id`), so a message re-sent after a crash
is recognisably the same message to every MTA and mail client. SMTP itself has no idempotency:
a relay that accepted the first copy accepts the second too; mail stores and clients that
deduplicate by ``Message-ID`` show one (see ``docs/channels.md``, "Delivery contract").
"""

from __future__ import annotations

import email.errors
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from bestnext.channels.model import Rendered, SendError


def message_id(idempotency_key: str) -> str:
    """The ``Message-ID`` of every attempt of one action (RFC 5322 ``msg-id``).

    >>> message_id("0b6c4d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e")
    '<0b6c4d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e@bestnext>'
    """
    return f"<{idempotency_key}@bestnext>"


class SmtpProvider:
    def __init__(self, host: str, port: int, sender: str, *, starttls: bool = False,
                 username: str | None = None, password: str | None = None, timeout: float = 30,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password = starttls, username, password
        self.timeout, self.tls_context = timeout, tls_context

    def build(self, message: Rendered, idempotency_key: str) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = Address(addr_spec=message.to)
        mail["Subject"] = message.subject or ""
        mail["Message-ID"] = message_id(idempotency_key)
        mail["Date"] = formatdate(message.at.timestamp() if message.at else None, usegmt=True)
        for name, value in message.headers.items():
            mail[name] = value
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    def send(self, message: Rendered, idempotency_key: str) -> str:
        try:
            mail = self.build(message, idempotency_key)
        except (ValueError, IndexError, email.errors.MessageError):
            raise SendError("smtp: the address or a header is not valid", permanent=True) from None
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=self.tls_context or ssl.create_default_context())
                    smtp.ehlo()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError:
            raise SendError("smtp: authentication refused", permanent=True) from None
        except smtplib.SMTPRecipientsRefused:
            raise SendError("smtp: recipient refused", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            raise SendError(f"smtp {exc.smtp_code}", permanent=500 <= exc.smtp_code < 600) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"smtp: {type(exc).__name__}") from None
        return str(mail["Message-ID"])
