"""Apprise: the long tail of services, one Apprise URL per recipient.

Apprise (github.com/caronc/apprise, its services at appriseit.com/services/) knows about a
hundred services by URL: `tgram://BOT_TOKEN/CHAT_ID`, `mailto://user:app-password@gmail.com`,
`json://host/path`, `discord://ID/TOKEN`, and a few services' own webhook URLs. The kinds
dify-hub supports itself (Slack, Teams, Telegram, ntfy... docs/recipients/apprise.md) know
each service's answers; through Apprise a send only succeeds or fails. So:

- `clean_url` asks Apprise itself (its URL parser and plugin constructor) whether it can use
  the URL, and says why not in Apprise's words: an unknown scheme is named, never the URL.
- `build()` is one part, {"title", "body"}, the body in markdown: `notify(body_format=
  markdown)` lets Apprise convert it for each service (plain text for SMS, its own
  dialects for Discord or Slack). For a service that shows HTML (email, Telegram's HTML
  mode) the hub renders the markdown itself with `to_html()`, which escapes raw HTML in the
  model's text; Apprise's converter would pass it through.
- A failure is TRANSIENT: Apprise cannot tell a revoked token from a server hiccup, so the
  caller retries up to its attempt limit. What Apprise logged about it (its WARNING and
  ERROR lines for this one call, from the AppriseResult that `notify()` returns in Apprise
  2.x) becomes the error's body, so the attempt row shows why. `apprise.LogCapture` is not
  used: it adds a handler to the shared "apprise" logger, and in a worker where a hundred
  threads deliver at once it would mix other deliveries' lines (and their tokens) in.
- Time is bounded: the URL's `cto`/`rto` (connect and read timeouts, Apprise's URL
  arguments) default to the transport's timeout, and the whole call to their sum.
- Long messages: unless the URL sets `overflow=`, Apprise truncates to the service's limit
  (`overflow=truncate`), because `split` sends several messages and a retry after a failed
  third one would send the first two again.
- Apprise URLs carry credentials anywhere (the whole netloc of `tgram://` is the bot token):
  every part that could be one is added to `self.redact` (`apprise_secrets`).

`apprise` is imported inside the functions that need it: it loads its plugins on first
use, and importing the registry must stay cheap. No Django here (registry.py).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, unquote

from integrations.http import Redactor, looks_secret, url_secrets

from .base import REPLY_BODY_LIMIT, Message, OptionsError, Reply, Transport, TransportError, shorten
from .html import to_html

LOGGER = "apprise"
_SCHEME = re.compile(r"^([A-Za-z0-9]{1,32})://")
SERVICES_PAGE = "https://appriseit.com/services/"
# Apprise's own words for "I could not parse it", which say less than what we say ourselves.
_GENERIC = ("Unparseable", "Unsupported URL", "Could not load", "has become disabled")


class AppriseTransport(Transport):
    kind = "apprise"
    label = "Apprise"
    options: dict[str, type] = {}
    url_label = "Apprise URL"
    url_required = True

    def __init__(
        self,
        url: str,
        options: dict | None = None,
        secret: str = "",
        *,
        timeout: tuple[float, float] = (5.0, 15.0),
    ) -> None:
        super().__init__(url, options, secret, timeout=timeout)
        self.redact = Redactor([*self.redact.secrets, *apprise_secrets(self.url)])

    @classmethod
    def clean_url(cls, url: str) -> str:
        what = cls.url_label
        if not isinstance(url, str) or not url.strip():
            raise OptionsError(f"{what} is required")
        url = url.strip()
        if any(c.isspace() for c in url):
            raise OptionsError(f"{what} must not contain spaces (one service per recipient)")
        match = _SCHEME.match(url)
        if not match:
            raise OptionsError(
                f"{what} must look like service://… (for example tgram://…, mailto://… or "
                f"json://host/path; see {SERVICES_PAGE})"
            )
        plugin, lines = load(url)
        if plugin is None:
            raise OptionsError(
                refusal(match.group(1).lower(), lines, Redactor(apprise_secrets(url)))
            )
        return url

    def build(self, message: Message) -> list[dict]:
        body = message.text.strip()
        if message.footer.strip():
            body += "\n\n" + message.footer.strip()
        return [{"title": " ".join(message.title.split()), "body": body}]

    def post(self, payload: dict) -> Reply:
        import apprise  # noqa: PLC0415 -- loads its plugins; only for Apprise recipients

        connect, read = self.timeout
        plugin, lines = load(self.url, cto=connect, rto=read, overflow="truncate")
        if plugin is None:  # valid when saved: Apprise was upgraded or lost a dependency
            scheme = self.url.split("://", 1)[0].lower()
            raise self.error(
                refusal(scheme, lines, self.redact), retryable=False, code="apprise_url"
            )
        # The whole call: room for two requests (some plugins look something up first),
        # at the URL's own timeouts when it sets them.
        budget = 2 * (plugin.socket_connect_timeout + plugin.socket_read_timeout)
        body, body_format = payload["body"], apprise.NotifyFormat.MARKDOWN
        if plugin.resolve_format(body_format) == apprise.NotifyFormat.HTML:
            # Apprise makes HTML of markdown with Python-Markdown, which passes raw HTML
            # through; a workflow's output is not trusted markup (html.py), so services that
            # show HTML get to_html()'s rendering, raw HTML escaped.
            body, body_format = to_html(body), apprise.NotifyFormat.HTML
        notifier = apprise.Apprise(asset=plugin.asset)
        notifier.add(plugin)
        with notifier.notify(
            body=body,
            title=payload["title"],
            body_format=body_format,
            timeout=budget,
            log_level=logging.WARNING,
        ) as result:
            lines += [f"{entry.level}: {entry.message}" for entry in result.logs()]
            status = result.status
        service = plugin.service_name
        if status == apprise.AppriseResultStatus.SUCCESS:
            return Reply(status=200, body=f"Apprise: {service} accepted the message")
        timed_out = status == apprise.AppriseResultStatus.TIMEOUT
        raise self.failed(service, budget if timed_out else None, lines)

    def failed(self, service: str, timed_out: float | None, lines: list[str]) -> TransportError:
        """Transient, with Apprise's log lines (redacted, trimmed) as the body; `timed_out`:
        the seconds Apprise waited in vain, if that is what happened."""
        if timed_out is not None:
            message = (
                f"Apprise: {service} gave no answer within {timed_out:g} s (the message may "
                "still have been delivered)"
            )
        else:
            reason = lines[-1].split(": ", 1)[-1] if lines else ""
            message = f"Apprise could not deliver to {service}" + (
                f": {shorten(reason)}" if reason else ""
            )
            message += "; Apprise tells only success or failure, so it will be retried"
        code = "timeout" if timed_out is not None else "apprise_failed"
        error = self.error(message, retryable=True, code=code)
        error.body = self.redact("\n".join(lines))[:REPLY_BODY_LIMIT]
        return error


def load(url: str, **defaults: Any) -> tuple[Any, list[str]]:
    """(Apprise's plugin for `url` or None, the WARNING+ lines it logged meanwhile).

    `defaults` fill URL arguments the URL does not set itself (cto, rto, overflow)."""
    import apprise  # noqa: PLC0415 -- loads its plugins; only for Apprise recipients

    asset = apprise.AppriseAsset(app_id="dify-hub", app_desc="dify-hub", secure_logging=True)
    with this_thread_log() as lines:
        results = apprise.plugins.url_to_dict(url, secure_logging=True)
        if results is None:
            return None, lines
        for name, value in defaults.items():
            results.setdefault(name, value)  # present only when the URL sets it
        try:
            # Not suppress_exceptions=True: Apprise would then log "Could not load ... URL:"
            # with these parsed arguments, password and token included, at ERROR.
            return apprise.Apprise.instantiate(
                results, asset=asset, suppress_exceptions=False
            ), lines
        except Exception as exc:  # whatever a plugin's constructor raises to refuse its arguments
            if not lines:  # the plugin usually logged why as it raised
                lines.append(f"ERROR: {exc}")
            return None, lines


@contextmanager
def this_thread_log() -> Iterator[list[str]]:
    """Apprise's WARNING and ERROR lines logged by this thread while inside: why it refused
    a URL (other threads log to the same logger at the same time)."""
    lines: list[str] = []
    thread = threading.get_ident()

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == thread:
                lines.append(f"{record.levelname}: {record.getMessage()}")

    handler = Handler(logging.WARNING)
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def refusal(scheme: str, lines: list[str], redact: Redactor) -> str:
    """Why Apprise cannot use a URL, naming its scheme, never the URL."""
    import apprise  # noqa: PLC0415 -- loads its plugins; only for Apprise recipients

    what = AppriseTransport.url_label
    if scheme in ("http", "https"):
        return (
            f"{what}: Apprise does not recognise this {scheme}:// address as one of the "
            "services' own webhook URLs it knows; use the service's Apprise URL (such as "
            "discord://… or tgram://…), json://host/path for a plain JSON webhook, or the "
            "Webhook kind"
        )
    manager = apprise.NotificationManager()
    if scheme not in manager:
        return f"{what}: Apprise does not know the scheme '{scheme}://' (its services: {SERVICES_PAGE})"
    reasons = [line.split(": ", 1)[-1] for line in lines]
    reasons = [r for r in reasons if not r.startswith(_GENERIC)]
    detail = f" ({shorten(redact(reasons[0]), 160)})" if reasons else ""
    page = getattr(manager[scheme], "setup_url", "") or SERVICES_PAGE
    return f"{what}: Apprise cannot use this {scheme}:// URL{detail}; see {page}"


def apprise_secrets(url: str) -> set[str]:
    """Every part of an Apprise URL that may be a credential.

    Apprise URLs put tokens anywhere: the netloc (`tgram://BOT_TOKEN/...`, where the token
    itself holds a colon), user and password (`mailto://user:app-password@gmail.com`; a
    Gmail app password is 16 lower-case letters, so it is masked whatever it looks like),
    path segments (`discord://ID/TOKEN`) and query values (`?token=`, `?key=`). The netloc,
    password and a host without a dot are always masked; the user, path segments and query
    values when they look like tokens (integrations/http/redact.py) or are long (a user
    such as "hub" stays, or every "dify-hub" in a message would be masked too).
    """
    _, _, rest = url.partition("://")
    head, _, query = rest.partition("?")
    netloc, _, path = head.partition("/")
    userinfo, _, host = netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    always = {netloc, userinfo, password, *host.split(":")}
    if "." in host.split(":")[0]:
        always -= set(host.split(":"))  # a host name (smtp.gmail.com, ntfy.sh), not a token
    maybe = {user, *path.split("/"), *(value for _, value in parse_qsl(query))}
    candidates = {c for c in always if len(c) >= 3}
    candidates |= {c for c in maybe if looks_secret(c) or len(c) >= 16}
    candidates |= {unquote(c) for c in candidates}
    return candidates | url_secrets(url) | {url}
