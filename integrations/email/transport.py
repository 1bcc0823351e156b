"""Email: one message per delivery (text and HTML), through the hub's SMTP server.

The server comes from EMAIL_URL and the sender from EMAIL_FROM (integrations/email/
settings.py, docs/recipients/email.md); a recipient holds only addresses and a subject
template, and its URL field stays empty. Without EMAIL_URL its options do not validate
("EMAIL_URL is not set"), so the admin, `hub apply` and `hub check` say so before any
delivery fails. Where each rule comes from:

- Outcomes follow the reply classes of RFC 5321 §4.2.1: 4xx is transient ("the command may
  succeed if repeated": 421 closing, 450/451/452 greylisting, busy or full mailbox, 454
  authentication trouble), 5xx permanent (550 unknown user, 552 too large, 554 rejected,
  535 bad login, 530 login or STARTTLS required), each shown with the server's own text
  and enhanced code (RFC 3463) and, for the common ones, what to do.
- Refused recipients (backend.py): when the server took the message for some and refused
  others, that is permanent and names both sides, because a retry would send a second copy
  to those who have it. When it refused all of them, nothing was sent, and it is transient
  if any refusal was a 4xx (a greylisted address is accepted on a later try).
- Network trouble (connection refused or reset, DNS, a timeout, a dropped connection) is
  transient; a timeout after the message was sent may still have delivered it. TLS trouble
  (a certificate the hub does not trust, smtps:// against a plain port) is permanent: it
  stays until someone fixes EMAIL_URL, as for the chat kinds (channels/base.py).
- The text/plain part is the markdown as written (markdown is made to read as plain text),
  the footer after the "-- " signature line of RFC 3676 §4.3. The text/html part is
  `to_html()` (raw HTML in the model's text escaped) in a table layout with inline styles:
  Outlook for Windows renders mail with Word, which ignores CSS layout and most of <style>,
  and Gmail drops <style> in some of its clients, so only inline styles work everywhere.
- Size: a text above 1 MB is cut at a line end, with a note (MAX_TEXT_BYTES says why 1 MB).
- `Auto-Submitted: auto-generated` (RFC 3834 §5) keeps vacation auto-replies away, and the
  Message-ID is derived from the delivery's key: a resend after a timeout is then the same
  message (RFC 5322 §3.6.4), which Gmail, for one, shows only once.
- The SMTP password (and the base64 forms AUTH PLAIN and LOGIN send) is scrubbed from
  every error; server replies do not echo it, but a misbehaving server could.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import smtplib
import socket
import ssl
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from email.utils import parseaddr
from html import escape
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.utils.translation import gettext

from integrations.channels.base import (
    REPLY_BODY_LIMIT,
    Message,
    OptionsError,
    Reply,
    Transport,
    TransportError,
    shorten,
)
from integrations.channels.html import to_html
from integrations.email.backend import RecipientsPartlyRefused
from integrations.http import Redactor
from integrations.hub_language import hub_language

DEFAULT_SUBJECT = "{{ title }} – {{ date }}"
PLACEHOLDERS = ("title", "date")
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")  # RFC 3463 class.subject.detail
SUBJECT_LIMIT = 200  # characters; mail clients show about 60, RFC 5322 folds longer lines
# RFC 5321 §4.5.3.1.8: servers must accept at least 100 recipients per message; more is a
# mailing list, which wants a list server rather than a long To: line.
MAX_RECIPIENTS = 100
# The text appears twice (plain and HTML, the HTML about 1.3 times as long), so 1 MB of it
# makes a message of about 2.5 MB, under the smallest common limit: Postfix's default
# message_size_limit of 10,240,000 bytes (Gmail takes 25 MB, Exchange Online 25 to 35 MB).
# An LLM's output that long is a runaway, so its end is cut rather than the mail refused.
MAX_TEXT_BYTES = 1_000_000

_NOT_CONFIGURED = (
    "EMAIL_URL is not set; set EMAIL_URL (the SMTP server) and EMAIL_FROM in the hub's "
    "environment and restart it (docs/recipients/email.md)"
)
_APP_PASSWORD = (
    "Gmail, Outlook.com and iCloud need an app password, not the account's password "
    "(docs/recipients/email.md)"
)
_HINTS = {
    421: "the server is busy or closing the connection; will retry later",
    450: "a temporary refusal (greylisting, or a busy mailbox); will retry later",
    451: "a temporary refusal (greylisting, or a problem at the server); will retry later",
    452: "the server or mailbox is short of space, or there were too many recipients; will "
    "retry later",
    454: "a temporary login problem at the server; will retry later",
    530: "the server wants a login or STARTTLS first: put user:password in EMAIL_URL, or add "
    "?tls=true",
    534: f"the server wants a stronger login; {_APP_PASSWORD}",
    535: f"the user name or password in EMAIL_URL was refused; {_APP_PASSWORD}",
    552: "the message is too large for the server",
    554: "the server rejected the message (often a spam or policy filter; see its text)",
}
_SENDER_HINT = (
    "the server does not let this account send as EMAIL_FROM; use the account's own address "
    "(or an alias it may send as)"
)
# What the server refused, by smtplib's exception (most specific first).
_STAGES = (
    (smtplib.SMTPAuthenticationError, "the login"),
    (smtplib.SMTPSenderRefused, "the sender (EMAIL_FROM)"),
    (smtplib.SMTPDataError, "the message"),
    (smtplib.SMTPConnectError, "the connection"),
    (smtplib.SMTPHeloError, "the greeting (EHLO)"),
)

_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>
<body style="margin:0;padding:0;background-color:#f6f8fa;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" \
style="background-color:#f6f8fa;"><tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" \
style="width:100%;max-width:640px;background-color:#ffffff;border:1px solid #d0d7de;">
<tr><td style="padding:24px;font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;\
font-size:15px;line-height:1.5;color:#1f2328;">
{content}
</td></tr></table>
</td></tr></table>
</body></html>
"""
_MONO = "font-family:Consolas,Menlo,'Courier New',monospace;font-size:13px;"
_STYLES = {
    "h1": "font-size:22px;line-height:1.3;margin:0 0 16px;",
    "h2": "font-size:19px;line-height:1.3;margin:20px 0 10px;",
    "h3": "font-size:17px;margin:18px 0 8px;",
    "h4": "font-size:15px;margin:16px 0 8px;",
    "h5": "font-size:15px;margin:16px 0 8px;",
    "h6": "font-size:15px;margin:16px 0 8px;color:#57606a;",
    "p": "margin:0 0 12px;",
    "ul": "margin:0 0 12px;padding-left:24px;",
    "ol": "margin:0 0 12px;padding-left:24px;",
    "blockquote": "margin:0 0 12px;padding:0 12px;border-left:4px solid #d0d7de;color:#57606a;",
    "pre": f"margin:0 0 12px;padding:12px;background-color:#f6f8fa;border:1px solid #d0d7de;"
    f"white-space:pre-wrap;{_MONO}",
    "code": f"padding:1px 4px;background-color:#eff1f3;{_MONO}",
    "table": "border-collapse:collapse;margin:0 0 12px;",
    "th": "border:1px solid #d0d7de;padding:6px 10px;background-color:#f6f8fa;text-align:left;",
    "td": "border:1px solid #d0d7de;padding:6px 10px;",
    "a": "color:#0969da;",
    "hr": "border:0;border-top:1px solid #d0d7de;margin:16px 0;",
    "img": "max-width:100%;",
}
# markdown-it escapes < and > in text and attribute values, so every tag here is its own.
# A <code> right after <pre> is a code block: the <pre> carries its style.
_TAG = re.compile(r"(?<!<pre>)<(" + "|".join(_STYLES) + r")(?=[\s>/])([^>]*)>")
_FOOTER_STYLE = (
    "margin:20px 0 0;padding-top:12px;border-top:1px solid #d0d7de;font-size:13px;color:#57606a;"
)


class EmailTransport(Transport):
    kind = "email"
    label = "Email"
    options: dict[str, type] = {"to": list, "subject": str, "reply_to": str}
    required_options = ("to",)
    url_label = "URL"
    url_required = False
    needs_secret = False

    def __init__(
        self,
        url: str,
        options: dict | None = None,
        secret: str = "",
        *,
        timeout: tuple[float, float] = (5.0, 15.0),
    ) -> None:
        super().__init__(url, options, secret, timeout=timeout)  # clean_options: EMAIL_URL set?
        # EMAIL_URL's ?timeout= (30 s unless set) bounds every SMTP command.
        self.smtp_timeout = settings.EMAIL_TIMEOUT or sum(timeout)
        self.host = settings.EMAIL_HOST
        self.redact = Redactor(
            [
                *self.redact.secrets,
                *password_forms(settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD),
            ]
        )

    # -- configuration -------------------------------------------------------

    @classmethod
    def clean_url(cls, url: str) -> str:
        if url is None or (isinstance(url, str) and not url.strip()):
            return ""
        raise OptionsError(
            "Email takes no URL: the SMTP server comes from EMAIL_URL in the hub's "
            "environment; leave the URL empty"
        )

    @classmethod
    def clean_options(cls, options: dict | None) -> dict:
        # Checked with the options, not only when sending: the admin and `hub apply`
        # validate recipients through clean_options, `hub check` by constructing them.
        if not getattr(settings, "HUB_EMAIL_CONFIGURED", False):
            raise OptionsError(_NOT_CONFIGURED)
        # `to` may be one comma-separated string; as a list it goes through the type check.
        if isinstance(options, Mapping) and "to" in options:
            to = options["to"]
            if isinstance(to, str) and to.strip():
                options = {**options, "to": [to]}
            elif to is not None and not isinstance(to, (str, list)):
                raise OptionsError(
                    "option 'to' for email must be an address, a comma-separated string of "
                    f"addresses or a list of them (got {type(to).__name__})"
                )
        return super().clean_options(options)

    @classmethod
    def check_option_values(cls, options: dict) -> None:
        options["to"] = parse_addresses("to", options["to"])
        if len(options["to"]) > MAX_RECIPIENTS:
            raise OptionsError(
                f"option 'to' for email: at most {MAX_RECIPIENTS} addresses "
                f"(got {len(options['to'])}); use a mailing list for more"
            )
        if "reply_to" in options:
            reply_to = parse_addresses("reply_to", [options["reply_to"]])
            if len(reply_to) != 1:
                raise OptionsError("option 'reply_to' for email must be one address")
            options["reply_to"] = reply_to[0]
        if "subject" in options:
            check_subject(options["subject"])

    # -- building ------------------------------------------------------------

    def build(self, message: Message) -> list[dict]:
        title = " ".join(message.title.split())
        text = fit_text(message.text.strip())
        footer = message.footer.strip()
        subject = render_subject(self.opts.get("subject", DEFAULT_SUBJECT), title, today())
        return [
            {
                "subject": subject,
                "text": plain_body(title, text, footer),
                "html": html_body(title, text, footer),
                "to": list(self.opts["to"]),
                "reply_to": [self.opts["reply_to"]] if "reply_to" in self.opts else [],
                # Same key, same Message-ID: a resend is recognisably the same message.
                "message_id": hashlib.sha256(message.key.encode()).hexdigest()[:32]
                if message.key
                else "",
            }
        ]

    # -- sending -------------------------------------------------------------

    def post(self, payload: dict) -> Reply:
        email = self.email(payload)
        connection = get_connection(timeout=self.smtp_timeout)
        try:
            connection.open()
            connection.send_messages([email])
        except (smtplib.SMTPException, OSError) as exc:
            raise self.failure(exc) from None
        finally:
            # The message is in or out already: a failed QUIT changes nothing.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.close()
        accepted = ", ".join(bare(a) for a in payload["to"])
        return Reply(status=250, body=f"accepted for {accepted}"[:REPLY_BODY_LIMIT])

    def email(self, payload: dict) -> EmailMultiAlternatives:
        sender = settings.DEFAULT_FROM_EMAIL
        headers = {"Auto-Submitted": "auto-generated"}
        if payload.get("message_id"):
            domain = bare(sender).rpartition("@")[2] or "dify-hub.invalid"
            headers["Message-ID"] = f"<dify-hub.{payload['message_id']}@{domain}>"
        email = EmailMultiAlternatives(
            subject=payload["subject"],
            body=payload["text"],
            from_email=sender,
            to=payload["to"],
            reply_to=payload.get("reply_to") or None,
            headers=headers,
        )
        email.attach_alternative(payload["html"], "text/html")
        return email

    # -- judging failures ------------------------------------------------------

    def failure(self, exc: BaseException) -> TransportError:
        """The TransportError for what smtplib or the socket raised."""
        if isinstance(exc, RecipientsPartlyRefused):
            return self.partly_refused(exc.accepted, exc.refused)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            return self.refused(exc.recipients)
        if isinstance(exc, smtplib.SMTPResponseException):
            return self.answer(exc)
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            if isinstance(exc.__context__, TimeoutError):
                # smtplib reports a reply that never came as "Connection unexpectedly
                # closed: timed out", raised while handling the socket's TimeoutError.
                return self.network_failure(exc.__context__)
            return self.error(
                f"SMTP server {self.host} closed the connection unexpectedly (the message "
                "may have been delivered if it was already sent); will retry",
                retryable=True,
                code="smtp_disconnected",
            )
        if isinstance(exc, smtplib.SMTPException):  # the server lacks AUTH or STARTTLS...
            return self.error(
                f"SMTP server {self.host}: {exc}; {unsupported_hint(str(exc))}",
                retryable=False,
                code="smtp_unsupported",
            )
        return self.network_failure(exc)

    def answer(self, exc: smtplib.SMTPResponseException) -> TransportError:
        code, text = exc.smtp_code, reply_text(exc.smtp_error)
        what = next((name for kind, name in _STAGES if isinstance(exc, kind)), "a command")
        hint = _HINTS.get(code, "")
        if isinstance(exc, smtplib.SMTPSenderRefused) and code in (550, 553):
            hint = _SENDER_HINT
        message = f"SMTP server {self.host} refused {what}: {code} {shorten(text, 300)}"
        return self.error(
            message + (f"; {hint}" if hint else ""),
            retryable=not 500 <= code < 600,
            reply=Reply(status=code, body=text[:REPLY_BODY_LIMIT]),
            code=f"smtp_{code}",
        )

    def refused(self, refused: Mapping[str, tuple[int, bytes]]) -> TransportError:
        """Nothing was sent: the server refused every recipient it was asked about."""
        codes = [code for code, _ in refused.values()]
        retryable = any(400 <= code < 500 for code in codes)
        if retryable:
            hint = "will retry later"
        elif any(reply_text(text).startswith("5.7.") for _, text in refused.values()):
            # RFC 3463 X.7.X: security or policy (relay denied), not a wrong address.
            hint = "the server will not deliver these for the hub (relaying or policy): "
            hint += "check that EMAIL_URL logs in to a server that may send for EMAIL_FROM"
        else:
            hint = "check the addresses in the 'to' option"
        return self.error(
            f"SMTP server {self.host} refused {describe(refused)}; nothing was sent; {hint}",
            retryable=retryable,
            reply=Reply(status=codes[0], body=refusal_lines(refused)),
            code="smtp_recipients_refused",
        )

    def partly_refused(
        self, accepted: list[str], refused: Mapping[str, tuple[int, bytes]]
    ) -> TransportError:
        got = ", ".join(bare(a) for a in accepted)
        return self.error(
            f"SMTP server {self.host} took the message for {got} but refused "
            f"{describe(refused)}; not retried, since a retry would send {got} a second "
            "copy: fix or remove the refused addresses, or send to them on their own",
            retryable=False,
            reply=Reply(
                status=next(iter(refused.values()))[0],
                body=f"accepted: {got}\nrefused:\n{refusal_lines(refused)}"[:REPLY_BODY_LIMIT],
            ),
            code="smtp_partly_refused",
        )

    def network_failure(self, exc: OSError) -> TransportError:
        where = f"SMTP server {self.host}:{settings.EMAIL_PORT}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            reason = exc.verify_message or "certificate not trusted"
            text = f"{where}: its TLS certificate was not accepted ({reason})"
            return self.error(text, retryable=False, code="tls")
        if isinstance(exc, ssl.SSLError):
            text = (
                f"{where}: TLS failed ({exc.reason or exc}); smtps:// is for a TLS port "
                "(465), smtp://…?tls=true for STARTTLS (587)"
            )
            return self.error(text, retryable=False, code="tls")
        if isinstance(exc, TimeoutError):
            text = (
                f"{where} gave no answer within {self.smtp_timeout:g} s (the message may "
                f"still have been delivered){timeout_hint(settings.EMAIL_PORT)}"
            )
            return self.error(text, retryable=True, code="timeout")
        if isinstance(exc, socket.gaierror):
            text = f"{where} could not be reached: host name not found"
        elif isinstance(exc, ConnectionRefusedError):
            text = f"{where} could not be reached: connection refused"
        else:
            text = f"{where} could not be reached: {exc.strerror or type(exc).__name__}"
        return self.error(text, retryable=True, code="connect")


# -- options ---------------------------------------------------------------------


def parse_addresses(option: str, values: Iterable) -> list[str]:
    """Each value may hold several comma-separated addresses, with or without a display
    name; returns them one per item, names kept. Raises OptionsError naming a bad one."""
    addresses: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise OptionsError(f"option '{option}' for email: every address must be a string")
        for piece in split_addresses(value):
            name, address = parseaddr(piece)
            # parseaddr() drops what it cannot read ("a@x; b@y" gives a@x), so the address
            # must be all of the piece, or its <...> part.
            whole = piece == address or piece.endswith(f"<{address}>")
            try:
                validate_email(address if whole else "")
            except ValidationError:
                raise OptionsError(
                    f"option '{option}' for email: '{shorten(piece, 100)}' is not an email address"
                ) from None
            addresses.append(format_address(name, address))
    if not addresses:
        raise OptionsError(f"option '{option}' for email needs an email address")
    return addresses


def split_addresses(value: str) -> list[str]:
    """`value` split at the commas outside "quoted names" and <addresses>, blanks dropped."""
    pieces, current, quoted, escaped, angle = [], [], False, False, False
    for char in value:
        if char == "," and not (quoted or angle):
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
        if quoted:
            quoted = escaped or char != '"'
            escaped = not escaped and char == "\\"
        elif char == '"':
            quoted = True
        elif char in "<>":
            angle = char == "<"
    pieces.append("".join(current))
    return [piece.strip() for piece in pieces if piece.strip()]


def format_address(name: str, address: str) -> str:
    """`address`, or `"name" <address>` (quoted, so commas and dots in names are safe;
    Django encodes non-ASCII names when sending)."""
    if not name:
        return address
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{address}>'


def bare(address: str) -> str:
    return parseaddr(address)[1] or address


def check_subject(template: str) -> None:
    if "\n" in template or "\r" in template:
        raise OptionsError("option 'subject' for email must be one line")
    for name in _PLACEHOLDER.findall(template):
        if name not in PLACEHOLDERS:
            raise OptionsError(
                f"option 'subject' for email: unknown placeholder {{{{ {name} }}}} "
                "(known: {{ title }}, {{ date }})"
            )


# -- building --------------------------------------------------------------------


def today() -> date:
    """Today in the hub's TIME_ZONE (a digest sent at 00:30 in Berlin is dated there)."""
    return datetime.now(ZoneInfo(settings.TIME_ZONE)).date()


def render_subject(template: str, title: str, day: date) -> str:
    values = {"title": title, "date": day.isoformat()}
    subject = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)
    # Without a title the default template would start with a dangling dash.
    subject = " ".join(subject.split()).strip(" -–—:|·")
    return shorten(subject or "dify-hub", SUBJECT_LIMIT)


def fit_text(text: str) -> str:
    """The text, or its first MAX_TEXT_BYTES (at a line end) with a note."""
    raw = text.encode("utf-8")
    if len(raw) <= MAX_TEXT_BYTES:
        return text
    head = raw[:MAX_TEXT_BYTES].decode("utf-8", errors="ignore")
    cut = head.rfind("\n")
    if cut > len(head) // 2:
        head = head[:cut]
    with hub_language():
        note = gettext(
            "[… cut by dify-hub: the text was %(size)s MB, more than mail servers accept in "
            "one message; the first %(kept)s MB are above]"
        ) % {"size": f"{len(raw) / 1e6:.1f}", "kept": f"{MAX_TEXT_BYTES / 1e6:g}"}
    return head.rstrip() + "\n\n" + note


def plain_body(title: str, text: str, footer: str) -> str:
    body = "\n\n".join(part for part in (title, text) if part)
    if footer:
        body += "\n\n-- \n" + footer  # RFC 3676 §4.3 signature line: clients grey it out
    return body + "\n"


def html_body(title: str, text: str, footer: str) -> str:
    parts = []
    if title:
        parts.append(f'<h1 style="{_STYLES["h1"]}">{escape(title)}</h1>')
    parts.append(styled(to_html(text)))
    if footer:
        parts.append(f'<p style="{_FOOTER_STYLE}">{escape(footer)}</p>')
    return _PAGE.format(title=escape(title or "dify-hub"), content="\n".join(parts))


def styled(html: str) -> str:
    """Inline styles on the tags markdown-it writes (merged before its own text-align)."""

    def add(match: re.Match) -> str:
        tag, attributes = match.group(1), match.group(2)
        style = _STYLES[tag]
        if ' style="' in attributes:
            merged = attributes.replace(' style="', ' style="' + style, 1)
            return f"<{tag}{merged}>"
        return f'<{tag}{attributes} style="{style}">'

    return _TAG.sub(add, html)


# -- reporting -------------------------------------------------------------------


def reply_text(raw: bytes | str) -> str:
    """A (multi-line) SMTP reply's text on one line, its enhanced code once: Gmail repeats
    it on every line ("5.1.1 The email account ...\n5.1.1 double-checking ...")."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0].split(" ", 1)[0] if lines else ""
    if _ENHANCED.fullmatch(first):
        lines[1:] = [line.removeprefix(first).strip() for line in lines[1:]]
    return " ".join(" ".join(lines).split())


def describe(refused: Mapping[str, tuple[int, bytes]]) -> str:
    items = [
        f"{bare(a)} ({code} {shorten(reply_text(t), 120)})" for a, (code, t) in refused.items()
    ]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def refusal_lines(refused: Mapping[str, tuple[int, bytes]]) -> str:
    lines = [f"{bare(a)}: {code} {reply_text(t)}" for a, (code, t) in refused.items()]
    return "\n".join(lines)[:REPLY_BODY_LIMIT]


def unsupported_hint(text: str) -> str:
    if "STARTTLS" in text:
        return "the server offers no STARTTLS: drop ?tls=true, or use smtps:// for port 465"
    if "AUTH" in text:
        return (
            "the server offers no login on this connection; many offer it only after "
            "STARTTLS (add ?tls=true), and port 25 often not at all (use 587)"
        )
    return "check EMAIL_URL"


def timeout_hint(port: int) -> str:
    if port == 465 and not settings.EMAIL_USE_SSL:
        return "; port 465 speaks TLS from the start: use smtps://"
    return ""


def password_forms(user: str, password: str) -> list[str]:
    """The password as written and as AUTH PLAIN and LOGIN send it (RFC 4616, base64)."""
    if not password:
        return []
    plain = f"\0{user}\0{password}".encode()
    return [
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(plain).decode(),
    ]
