"""The shared shape of every chat transport.

After healthchecks' transports: one small class per chat service, one exception
type (`TransportError`) whose `permanent` flag tells the caller whether a retry
can help, and one network seam (`Transport._request`). A transport never
retries and never touches the database; the caller records attempts, retries
transient errors with backoff and disables a recipient on permanent ones.

`build()` is pure (message -> JSON payloads, one per part); `post()` does one
HTTP POST of one part, adds time-based signing at send time and applies the
service's success rule.

Error messages never contain the webhook URL: its token is a credential, and
`requests` puts the full URL into its exception strings, so network errors are
translated into short fixed phrases and service answers are redacted.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

import requests
import urllib3

REPLY_BODY_LIMIT = 1000  # chars of a response body kept in Reply / TransportError
MAX_RESPONSE_BYTES = 64 * 1024  # we never need more of an answer than this
USER_AGENT = "dify-hub"

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


@dataclass(frozen=True)
class Reply:
    """What one HTTP POST got back."""

    status: int
    body: str  # trimmed to REPLY_BODY_LIMIT chars


class TransportError(Exception):
    """The only exception a transport raises while sending.

    permanent=True: retrying the same message cannot succeed (bad token, deleted
    channel, keyword filter...); the caller should stop and surface the error.
    permanent=False: retry later; `retry_after` (seconds) is the service's hint.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        body: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status = status
        self.body = body
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"TransportError({self.message!r}, permanent={self.permanent}, "
            f"status={self.status}, retry_after={self.retry_after})"
        )


class OptionsError(ValueError):
    """Bad recipient configuration; the message names the field."""


class Transport:
    """Base class: subclasses set the ClassVars and implement `build()`.

    Hooks a subclass may override (all small):
    - `prepare(payload)`: URL, headers and body bytes for one POST (signing);
    - `check(reply, headers, text)`: raise unless this is a success answer;
    - `is_permanent(status, text)`, `error_detail(text)`, `hint(status, text)`,
      `retry_after(status, headers, text)`: how a non-2xx answer is reported.
    """

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    options: ClassVar[dict[str, type]] = {}
    needs_secret: ClassVar[bool] = False

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
        cls.check_option_values(cleaned)
        return cleaned

    @classmethod
    def check_option_values(cls, options: dict) -> None:
        """Per-kind checks of option values (types are already right)."""

    @classmethod
    def clean_url(cls, url: str) -> str:
        """Require an http(s) URL with a host; self-hosted servers are fine.

        Never quotes the URL back: it carries the token.
        """
        if not isinstance(url, str) or not url.strip():
            raise OptionsError("webhook URL is required")
        url = url.strip()
        if any(c.isspace() for c in url):
            raise OptionsError("webhook URL must not contain spaces")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 -- raises ValueError on a bad port
        except ValueError:
            raise OptionsError("webhook URL is not a valid URL") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise OptionsError("webhook URL must start with http:// or https://")
        if not parts.hostname:
            raise OptionsError("webhook URL has no host")
        cls.check_url_shape(parts)
        return url

    @classmethod
    def check_url_shape(cls, parts: Any) -> None:
        """Per-kind URL checks (parts is a urllib SplitResult)."""

    @classmethod
    def clean_secret(cls, secret: str) -> str:
        """Normalize a signing secret; raise OptionsError if unusable."""
        if not isinstance(secret, str):
            raise OptionsError("signing secret must be a string")
        return secret.strip()

    def __init__(
        self,
        url: str,
        options: dict | None = None,
        secret: str = "",
        *,
        timeout: tuple[float, float] = (5.0, 15.0),
        session: requests.Session | None = None,
    ) -> None:
        self.url = self.clean_url(url)
        self.opts = self.clean_options(options)  # `options` is the class's schema
        self.secret = self.clean_secret(secret or "")
        self.timeout = timeout
        self.session = session

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
        self, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Mapping, bytes]:
        """The network seam: one POST, no redirects, bounded time and size."""
        deadline = time.monotonic() + sum(self.timeout)
        try:
            if self.session is not None:
                return self._post_with(self.session, url, headers, body, deadline)
            with requests.Session() as session:
                return self._post_with(session, url, headers, body, deadline)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise self.network_error(exc) from None

    def _post_with(self, session, url, headers, body, deadline) -> tuple[int, Mapping, bytes]:
        with session.post(
            url,
            data=body,
            headers=headers,
            timeout=self.timeout,
            allow_redirects=False,
            stream=True,
        ) as response:
            return response.status_code, response.headers, self._read_body(response.raw, deadline)

    def _read_body(self, raw, deadline: float) -> bytes:
        # requests' timeouts apply to each socket read, so a server that
        # drips bytes could hold a worker forever; read1() returns whatever
        # one read got, which lets us check a total deadline in between.
        read = getattr(raw, "read1", None) or raw.read
        data = bytearray()
        while len(data) < MAX_RESPONSE_BYTES:
            if time.monotonic() > deadline:
                raise self.error(
                    f"{self.label} took longer than {sum(self.timeout):g} s to answer",
                    permanent=False,
                )
            chunk = read(8192, decode_content=True)
            if not chunk:
                break
            data += chunk
        return bytes(data[:MAX_RESPONSE_BYTES])

    def network_error(self, exc: Exception) -> TransportError:
        """Translate a requests/urllib3 exception into a message without the URL."""
        permanent = False
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            what = "connection timed out"
        elif isinstance(exc, requests.exceptions.ReadTimeout) or _caused_by(exc, _is_read_timeout):
            what = f"no answer within {self.timeout[1]:g} s (the message may still have been delivered)"
        elif isinstance(exc, requests.exceptions.SSLError) or _caused_by(
            exc, lambda e: isinstance(e, ssl.SSLError)
        ):
            if _caused_by(exc, lambda e: isinstance(e, ssl.SSLCertVerificationError)) or (
                "CERTIFICATE_VERIFY_FAILED" in str(exc)
            ):
                what = "TLS certificate verification failed"
            else:
                what = "TLS handshake failed"
        elif isinstance(
            exc,
            (
                requests.exceptions.InvalidURL,
                requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema,
                requests.exceptions.InvalidHeader,
            ),
        ):
            what, permanent = "the webhook URL or a header is not valid", True
        elif _caused_by(exc, lambda e: isinstance(e, ConnectionRefusedError)):
            what = "connection refused"
        elif _caused_by(
            exc, lambda e: isinstance(e, socket.gaierror)
        ) or "NameResolutionError" in repr(exc):
            what = "could not resolve the webhook host name"
        elif _caused_by(exc, lambda e: type(e).__name__ == "RemoteDisconnected"):
            what = "the server closed the connection without answering"
        elif _caused_by(exc, lambda e: isinstance(e, ConnectionResetError)):
            what = "connection reset by the server"
        elif isinstance(
            exc,
            (
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
                urllib3.exceptions.ProtocolError,
                urllib3.exceptions.DecodeError,
            ),
        ):
            what = "the answer was cut off"
        elif isinstance(exc, requests.exceptions.ConnectionError):
            what = "could not connect"
        else:
            what = f"request failed ({type(exc).__name__})"
        return self.error(f"Could not deliver to {self.label}: {what}", permanent=permanent)

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
            permanent=self.is_permanent(status, text),
            reply=reply,
            retry_after=self.retry_after(status, headers, text),
        )

    def is_permanent(self, status: int, text: str) -> bool:
        if 300 <= status < 400:
            return True  # we do not follow redirects: the URL itself is wrong
        if status in (408, 425, 429):
            return False
        return 400 <= status < 500

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
        permanent: bool,
        reply: Reply | None = None,
        retry_after: float | None = None,
    ) -> TransportError:
        """Make a TransportError with the URL's secrets scrubbed out."""
        return TransportError(
            self.redact(message),
            permanent=permanent,
            status=reply.status if reply else None,
            body=self.redact(reply.body) if reply else "",
            retry_after=retry_after,
        )

    def redact(self, text: str) -> str:
        """Replace anything token-like from the URL (and the secret) with ***.

        Services sometimes echo the hook id in errors (Mattermost does).
        """
        for fragment in sorted(self._sensitive_fragments(), key=len, reverse=True):
            text = text.replace(fragment, "***")
        return text

    def _sensitive_fragments(self) -> set[str]:
        parts = urlsplit(self.url)
        candidates = {self.url, self.secret, parts.password or "", parts.username or ""}
        candidates.update(parts.path.split("/"))
        candidates.update(value for _, value in parse_qsl(parts.query))
        candidates.update(unquote(c) for c in list(candidates))
        return {c for c in candidates if _looks_secret(c)}


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


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _looks_secret(fragment: str) -> bool:
    # Hook ids and tokens mix digits/case or are long; plain words ("hooks",
    # "services", "webhooks") are left alone so messages stay readable.
    if len(fragment) < 8:
        return False
    return len(fragment) >= 20 or bool(re.search(r"[0-9A-Z]", fragment))


def _caused_by(exc: BaseException, predicate, _depth: int = 0) -> bool:
    """Whether `exc` or anything it wraps (args, cause, context) matches."""
    if _depth > 6 or exc is None:
        return False
    if predicate(exc):
        return True
    linked: list[Any] = [exc.__cause__, exc.__context__, getattr(exc, "reason", None)]
    linked += [a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)]
    return any(
        isinstance(e, BaseException) and _caused_by(e, predicate, _depth + 1) for e in linked
    )


def _is_read_timeout(exc: BaseException) -> bool:
    return type(exc).__name__ in ("ReadTimeoutError", "ReadTimeout") or isinstance(
        exc, socket.timeout
    )
