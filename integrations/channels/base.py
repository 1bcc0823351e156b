"""The shared shape of every chat transport.

After healthchecks' transports: one small class per chat service, one exception type
(`TransportError`, a HubError whose `retryable` flag tells the caller whether a retry can
help), and one network seam (`Transport._request`, on the shared HTTP layer). A transport
never retries and never touches the database; the caller records attempts, retries
retryable errors with backoff and gives up on the others.

`build()` is pure (message -> JSON payloads, one per part); `post()` does one HTTP POST of
one part, adds time-based signing at send time and applies the service's success rule.

Error messages never contain the webhook URL: its token is a credential. The HTTP layer
reports network failures in short fixed phrases, and service answers are redacted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from integrations.errors import HubError
from integrations.http import (
    CONNECT,
    INVALID,
    SLOW,
    TIMEOUT,
    TLS,
    Failure,
    HttpClient,
    Redactor,
    Request,
    parse_retry_after,
    url_secrets,
)
from integrations.http.client import USER_AGENT

REPLY_BODY_LIMIT = 1000  # chars of a response body kept in Reply / TransportError
MAX_RESPONSE_BYTES = 64 * 1024  # we never need more of an answer than this

_TYPE_NAMES = {
    str: "a string",
    bool: "true or false",
    int: "a whole number",
    list: "a list",
    dict: "an object",
}


@dataclass(frozen=True)
class Message:
    """What to deliver, in CommonMark-ish markdown as an LLM writes it."""

    text: str
    title: str = ""
    footer: str = ""
    # Stable for one delivery across its retries (empty for a one-off such as a test
    # message): services with idempotency keys (Matrix, LINE) derive theirs from it.
    key: str = ""


@dataclass(frozen=True)
class Reply:
    """What one HTTP POST got back."""

    status: int
    body: str  # trimmed to REPLY_BODY_LIMIT chars


class TransportError(HubError):
    """The only exception a transport raises while sending.

    retryable=False: sending the same message again cannot succeed (bad token, deleted
    channel, keyword filter...); the caller stops and shows the error. retryable=True: try
    again later; `retry_after` (seconds) is the service's hint. `who` is the service's name.
    """

    source = "chat"
    default_who = "The chat service"
    default_code = "chat_error"


class OptionsError(ValueError):
    """Bad recipient configuration; the message names the field."""


class Transport:
    """Base class: subclasses set the ClassVars and implement `build()`.

    Hooks a subclass may override (all small):
    - `prepare(payload)`: URL, headers and body bytes for one POST (signing);
    - `check(reply, headers, text)`: raise unless this is a success answer;
    - `is_retryable(status, text)`, `error_detail(text)`, `hint(status, text)`,
      `retry_after(status, headers, text)`: how a non-2xx answer is reported.
    """

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    options: ClassVar[dict[str, type]] = {}
    required_options: ClassVar[tuple[str, ...]] = ()
    # The recipient's URL: a webhook URL, or a server's base URL when the kind has a default.
    url_label: ClassVar[str] = "webhook URL"
    url_required: ClassVar[bool] = True
    default_url: ClassVar[str] = ""
    # The recipient's secret: a signing secret, or the token the service authenticates.
    needs_secret: ClassVar[bool] = False  # takes one at all
    secret_required: ClassVar[bool] = False
    secret_label: ClassVar[str] = "signing secret"
    http_method: ClassVar[str] = "POST"

    # What to tell a user for a status code; subclasses extend this.
    status_hints: ClassVar[dict[int, str]] = {
        400: "the service rejected the message",
        401: "the webhook token was refused; check the webhook URL",
        403: "the webhook may not post here; check its permissions",
        404: "the webhook does not exist any more; create a new one and update the URL",
        410: "the webhook or its channel is gone; create a new one and update the URL",
        413: "the message is too large for the service",
    }

    # -- configuration ---------------------------------------------------

    @classmethod
    def clean_options(cls, options: dict | None) -> dict:
        """Check option names and types; return them normalized.

        Strings are stripped; empty strings and None mean "not set" and are
        dropped. Raises OptionsError naming the field.
        """
        if options is None:
            return {}
        if not isinstance(options, Mapping):
            raise OptionsError(f"options for {cls.kind} must be an object")
        allowed = ", ".join(sorted(cls.options)) or "none"
        cleaned: dict[str, Any] = {}
        for name, value in options.items():
            if name not in cls.options:
                raise OptionsError(f"unknown option '{name}' for {cls.kind} (allowed: {allowed})")
            if value is None:
                continue
            expected = cls.options[name]
            # bool is a subclass of int: keep them apart in both directions.
            wrong = not isinstance(value, expected) or (expected is int and isinstance(value, bool))
            if wrong:
                raise OptionsError(
                    f"option '{name}' for {cls.kind} must be {_TYPE_NAMES.get(expected, expected.__name__)}"
                    f" (got {type(value).__name__})"
                )
            if isinstance(value, str):
                value = value.strip()
                if not value:
                    continue
            cleaned[name] = value
        missing = [name for name in cls.required_options if name not in cleaned]
        if missing:
            raise OptionsError(f"option '{missing[0]}' is required for {cls.kind}")
        cls.check_option_values(cleaned)
        return cleaned

    @classmethod
    def check_option_values(cls, options: dict) -> None:
        """Per-kind checks of option values (types are already right)."""

    @classmethod
    def clean_url(cls, url: str) -> str:
        """Require an http(s) URL with a host; self-hosted servers are fine. A kind with a
        default URL (a service's public API) takes an empty one as that default.

        Never quotes the URL back: it carries the token.
        """
        what = cls.url_label
        if (url is None or (isinstance(url, str) and not url.strip())) and not cls.url_required:
            return cls.default_url
        if not isinstance(url, str) or not url.strip():
            raise OptionsError(f"{what} is required")
        url = url.strip()
        if any(c.isspace() for c in url):
            raise OptionsError(f"{what} must not contain spaces")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 -- raises ValueError on a bad port
        except ValueError:
            raise OptionsError(f"{what} is not a valid URL") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise OptionsError(f"{what} must start with http:// or https://")
        if not parts.hostname:
            raise OptionsError(f"{what} has no host")
        cls.check_url_shape(parts)
        return url

    @classmethod
    def check_url_shape(cls, parts: Any) -> None:
        """Per-kind URL checks (parts is a urllib SplitResult)."""

    @classmethod
    def clean_secret(cls, secret: str) -> str:
        """Normalize the secret; raise OptionsError if unusable or missing when required."""
        if not isinstance(secret, str):
            raise OptionsError(f"{cls.secret_label} must be a string")
        secret = secret.strip()
        if cls.secret_required and not secret:
            raise OptionsError(f"{cls.secret_label} is required for {cls.kind}")
        return secret

    def __init__(
        self,
        url: str,
        options: dict | None = None,
        secret: str = "",
        *,
        timeout: tuple[float, float] = (5.0, 15.0),
    ) -> None:
        self.url = self.clean_url(url)
        self.opts = self.clean_options(options)  # `options` is the class's schema
        self.secret = self.clean_secret(secret or "")
        self.timeout = timeout
        self.redact = Redactor(url_secrets(self.url) | {self.secret})

    def __repr__(self) -> str:  # never show the URL
        return f"<{type(self).__name__}>"

    # -- the three public operations ---------------------------------------

    def build(self, message: Message) -> list[dict]:
        """Format `message` for this service; one JSON payload per part."""
        raise NotImplementedError

    def post(self, payload: dict) -> Reply:
        """POST one part; return the Reply or raise TransportError."""
        url, headers, body = self.prepare(payload)
        status, response_headers, raw = self._request(url, headers, body)
        text = raw.decode("utf-8", errors="replace")
        reply = Reply(status=status, body=text[:REPLY_BODY_LIMIT])
        self.check(reply, response_headers, text)
        return reply

    def send(self, message: Message) -> list[Reply]:
        """Build and post every part in order; stop at the first error."""
        return [self.post(payload) for payload in self.build(message)]

    # -- sending -----------------------------------------------------------

    def prepare(self, payload: dict) -> tuple[str, dict[str, str], bytes]:
        return self.url, json_headers(), encode_json(payload)

    def _request(
        self, url: str, headers: dict[str, str], body: bytes, method: str | None = None
    ) -> tuple[int, Mapping, bytes]:
        """The network seam: one request (the kind's method unless told: a lookup is a GET)
        through the shared HTTP layer (no redirects, bounded time and size, failures in
        plain words without the URL)."""
        with _ChatHttp(self) as http:
            response = http.request(
                method or self.http_method, url, data=body or None, headers=headers
            )
        return response.status, response.headers, response.body

    # -- judging the answer -------------------------------------------------

    def check(self, reply: Reply, headers: Mapping, text: str) -> None:
        """Default success rule: any 2xx. Subclasses narrow it."""
        if not 200 <= reply.status < 300:
            raise self.status_error(reply, headers, text)

    def status_error(self, reply: Reply, headers: Mapping, text: str) -> TransportError:
        status = reply.status
        message = f"{self.label} answered HTTP {status}"
        detail = self.error_detail(text)
        if detail:
            message += f" ({detail})"
        hint = self.hint(status, text)
        if hint:
            message += f": {hint}"
        return self.error(
            message,
            retryable=self.is_retryable(status, text),
            reply=reply,
            retry_after=self.retry_after(status, headers, text),
        )

    def is_retryable(self, status: int, text: str) -> bool:
        if 300 <= status < 400:
            return False  # we do not follow redirects: the URL itself is wrong
        if status in (408, 425, 429):
            return True
        return not 400 <= status < 500

    def hint(self, status: int, text: str) -> str:
        if status in self.status_hints:
            return self.status_hints[status]
        if 300 <= status < 400:
            return "the webhook URL redirects elsewhere; use the final URL"
        if status == 429:
            return "rate limited; will retry later"
        if status >= 500:
            return "the service had a problem; will retry later"
        return ""

    def error_detail(self, text: str) -> str:
        """The service's own short error text, if the answer has one."""
        data = parse_json(text)
        if isinstance(data, dict):
            for key in ("error", "message", "msg", "errmsg"):
                value = data.get(key)
                if isinstance(value, str) and value:
                    return shorten(value)
                if isinstance(value, dict):  # e.g. {"error": {"code": ..., "message": ...}}
                    parts = [str(value[k]) for k in ("code", "message") if value.get(k)]
                    if parts:
                        return shorten(": ".join(parts))
            return ""
        plain = text.strip()
        if plain and len(plain) <= 200 and "<" not in plain:
            return shorten(plain)
        return ""

    def retry_after(self, status: int, headers: Mapping, text: str) -> float | None:
        if status in (429, 503):
            return parse_retry_after(headers.get("Retry-After"))
        return None

    def error(
        self,
        message: str,
        *,
        retryable: bool,
        reply: Reply | None = None,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> TransportError:
        """Make a TransportError with the URL's secrets scrubbed out."""
        return TransportError(
            self.redact(message),
            retryable=retryable,
            status=reply.status if reply else None,
            body=self.redact(reply.body) if reply else "",
            retry_after=retry_after,
            code=code or (f"http_{reply.status}" if reply else None),
            who=self.label,
        )

    def network_error(self, failure: Failure) -> TransportError:
        """A failure below HTTP, in the service's name, without the URL."""
        label, kind = self.label, failure.kind
        if kind == SLOW:
            return self.error(f"{label} {failure.reason}", retryable=True, code="slow")
        if kind == TIMEOUT:
            text = (
                f"{label} gave no answer within {self.timeout[1]:g} s (the message may still "
                "have been delivered)"
            )
        elif kind in (CONNECT, TLS):
            text = f"{label} could not be reached: {failure.reason}"
        elif kind == INVALID:
            text = f"{label}: the webhook URL or a header is not valid"
        else:
            text = f"{label}: {failure.reason}"
        # A TLS or URL problem stays until someone fixes the recipient: not worth retrying.
        return self.error(text, retryable=kind not in (TLS, INVALID), code=kind)


class _ChatHttp(HttpClient):
    """The HTTP layer as a transport uses it: at most 64 KB of an answer, read within the
    connect plus read timeout, failures reported by the transport."""

    def __init__(self, transport: Transport) -> None:
        connect, read = transport.timeout
        super().__init__(
            transport.url,
            connect_timeout=connect,
            read_timeout=read,
            total_timeout=connect + read,
            max_body=MAX_RESPONSE_BYTES,
            truncate_body=True,
            secrets=transport.redact.secrets,
        )
        self.transport = transport
        self.who = transport.label

    def network_error(self, failure: Failure, request: Request) -> HubError:
        return self.transport.network_error(failure)


# -- helpers shared by the transports ----------------------------------------


def encode_json(payload: Any) -> bytes:
    """Compact UTF-8 JSON (not \\u escapes: size limits are in bytes)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_headers() -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}


def parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return None


def shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
