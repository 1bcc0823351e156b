"""Django's SMTP backend, except that a partly refused message is an error.

smtplib's `sendmail()` raises SMTPRecipientsRefused only when EVERY recipient is refused;
when the server accepts some, it sends the message to those and *returns* a dict of the
refused ones, {address: (code, text)} (Python docs, smtplib.SMTP.sendmail). Django's
`EmailBackend._send()` ignores that return value (django/core/mail/backends/smtp.py), so a
message that reached two of three people looks delivered. Here the connection class raises
`RecipientsPartlyRefused` instead, naming who got it and who did not, and the rest of
Django's backend (TLS, login, timeouts, address encoding) is used unchanged.

Django's other mail (password resets) goes through this backend too and gets the same
error, which beats a silent loss.
"""

from __future__ import annotations

import smtplib
from collections.abc import Sequence

from django.core.mail.backends import smtp


class RecipientsPartlyRefused(smtplib.SMTPException):
    """The server took the message for `accepted` and refused `refused` {address: (code,
    text)}: the message WAS sent, so sending it again would duplicate it."""

    def __init__(self, accepted: list[str], refused: dict[str, tuple[int, bytes]]) -> None:
        self.accepted = accepted
        self.refused = refused
        super().__init__(f"{len(refused)} of {len(accepted) + len(refused)} recipients refused")


class _ReportsRefused:
    """Mixed into smtplib's SMTP classes: turns sendmail()'s returned refusals into an error."""

    def sendmail(self, from_addr, to_addrs, msg, mail_options=(), rcpt_options=()):
        refused = super().sendmail(from_addr, to_addrs, msg, mail_options, rcpt_options)
        if refused:
            addresses: Sequence[str] = [to_addrs] if isinstance(to_addrs, str) else to_addrs
            accepted = [a for a in addresses if a not in refused]
            raise RecipientsPartlyRefused(accepted, dict(refused))
        return refused


class _SMTP(_ReportsRefused, smtplib.SMTP):
    pass


class _SMTPSSL(_ReportsRefused, smtplib.SMTP_SSL):
    pass


class EmailBackend(smtp.EmailBackend):
    """settings.EMAIL_BACKEND when EMAIL_URL is set (integrations/email/settings.py)."""

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return _SMTPSSL if self.use_ssl else _SMTP
