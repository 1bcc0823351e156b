"""EMAIL_URL and EMAIL_FROM as Django's EMAIL_* settings (read by hub/settings.py).

The URL is parsed by dj-email-url (its README: `smtp://user:pass@host:port/?tls=true`,
`?ssl=true`, `?timeout=`, percent-encoded user and password), with three corrections:

- `smtps://` means implicit TLS on port 465, as RFC 8314 §3.3 and every mail provider's
  set-up page use it. dj-email-url 1.0.6 maps it to STARTTLS instead (and warns that it
  will deprecate the scheme), which hangs against a port-465 server.
- A bounded timeout: Django's EMAIL_TIMEOUT defaults to None, so a server that accepts the
  connection and never answers would hold a delivery thread forever.
- Errors never quote the URL, nor the text of a parsing exception (urllib's "port could not
  be cast to integer" quotes the characters after a colon, which may be half a password).

Without EMAIL_URL nothing is returned: Django's own defaults stay, and an email recipient
says "EMAIL_URL is not set" when it is checked (integrations/email/transport.py).
Plain functions of strings, so they run before Django is configured.
"""

from __future__ import annotations

import warnings
from email.utils import parseaddr
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dj_email_url
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email

BACKEND = "integrations.email.backend.EmailBackend"
DEFAULT_TIMEOUT = 30  # seconds per SMTP command; a submission server answers in < 1 s
# scheme -> (encryption, default port). submission/submit are dj-email-url's names for 587.
SCHEMES = {
    "smtp": ("none", 25),
    "smtps": ("ssl", 465),
    "submission": ("starttls", 587),
    "submit": ("starttls", 587),
}
_ENCODING_HINT = (
    "percent-encode special characters in the user and password (@ as %40, / as %2F, "
    "# as %23, : as %3A)"
)


def email_settings(url: str, from_email: str) -> dict[str, Any]:
    """Django settings for EMAIL_URL and EMAIL_FROM; {} when EMAIL_URL is empty.

    Raises ImproperlyConfigured naming the variable (never its value)."""
    url = (url or "").strip()
    if not url:
        return {}
    conf = parse_email_url(url)
    sender = from_address(from_email, conf["EMAIL_HOST_USER"])
    return {
        **conf,
        "EMAIL_BACKEND": BACKEND,
        "DEFAULT_FROM_EMAIL": sender,
        "SERVER_EMAIL": sender,  # Django's own error mails, should ADMINS ever be set
        "HUB_EMAIL_CONFIGURED": True,
    }


def parse_email_url(url: str) -> dict[str, Any]:
    """EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS,
    EMAIL_USE_SSL and EMAIL_TIMEOUT for an smtp://, smtps:// or submission:// URL."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        shown = f"'{scheme}://'" if scheme.isalnum() else "none"
        raise ImproperlyConfigured(
            f"EMAIL_URL must start with smtp://, smtps:// or submission:// (got {shown})."
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its smtps:// deprecation note: we handle smtps
            conf = dj_email_url.parse(url)
    except ValueError:  # a bad port, or a ?timeout= that is not a number
        raise ImproperlyConfigured(
            f"EMAIL_URL is not a valid URL: check the port and ?timeout=, and {_ENCODING_HINT}."
        ) from None
    if not parts.hostname:
        raise ImproperlyConfigured(f"EMAIL_URL has no host name; {_ENCODING_HINT}.")
    if bool(conf["EMAIL_HOST_USER"]) != bool(conf["EMAIL_HOST_PASSWORD"]):
        # Django logs in only with both, so a lone user would silently send without AUTH.
        raise ImproperlyConfigured(
            "EMAIL_URL has a user without a password (or a password without a user): give "
            f"both as smtp://user:password@host, or neither; {_ENCODING_HINT}."
        )
    encryption, default_port = SCHEMES[scheme]
    query = {k.lower(): v[-1].strip().lower() for k, v in parse_qs(parts.query).items()}
    if _truthy(query.get("ssl")):
        encryption = "ssl"
    elif _truthy(query.get("tls")):
        encryption = "starttls"
    timeout = conf["EMAIL_TIMEOUT"] if conf["EMAIL_TIMEOUT"] is not None else DEFAULT_TIMEOUT
    if timeout < 1:
        raise ImproperlyConfigured("EMAIL_URL: ?timeout= must be at least 1 (seconds).")
    return {
        "EMAIL_HOST": conf["EMAIL_HOST"],
        "EMAIL_PORT": parts.port or default_port,
        "EMAIL_HOST_USER": conf["EMAIL_HOST_USER"] or "",
        "EMAIL_HOST_PASSWORD": conf["EMAIL_HOST_PASSWORD"] or "",
        "EMAIL_USE_TLS": encryption == "starttls",
        "EMAIL_USE_SSL": encryption == "ssl",
        "EMAIL_TIMEOUT": timeout,
    }


def from_address(value: str, user: str) -> str:
    """EMAIL_FROM (`hub@example.com` or `dify-hub <hub@example.com>`), else the SMTP user when
    it is an address (Gmail and Outlook send as the account anyway)."""
    value = (value or "").strip()
    if not value:
        if _is_address(user):
            return user
        raise ImproperlyConfigured(
            "EMAIL_FROM is not set: give the address mails come from, e.g. "
            "'dify-hub <hub@example.com>' (the SMTP user is not an address to fall back on)."
        )
    _, address = parseaddr(value)
    if not _is_address(address) or any(c in value for c in "\r\n"):
        raise ImproperlyConfigured(
            "EMAIL_FROM is not an email address; use 'hub@example.com' or "
            "'dify-hub <hub@example.com>'."
        )
    return value


def _is_address(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def _truthy(value: str | None) -> bool:
    return value in ("1", "y", "yes", "t", "true", "on")
