"""ntfy push notifications: `POST <server>/<topic>` (https://ntfy.sh or a self-hosted server).

Publishing (https://docs.ntfy.sh/publish/): the request body is the message as UTF-8 text,
everything else travels in headers. We send the docs' canonical `X-` names ("List of all
parameters") rather than the short aliases, because `Priority` is also a standard HTTP
header (RFC 9218) that proxies and CDNs may act on or drop:
- `X-Title`. Header values that are not plain ASCII are sent as RFC 2047 encoded-words
  (`=?utf-8?b?…?=`): the docs offer exactly that for non-ASCII titles ("Message title"), and
  the server runs every header through Go's mime.WordDecoder (server/util.go,
  maybeDecodeHeader). Raw UTF-8 would not do: HTTP client libraries send header values as
  Latin-1. We stay with header publishing rather than JSON publishing to the server root,
  so that we post to exactly the topic URL the user gave us and the 4096-byte limit
  applies to the body as we measure it.
- `X-Priority` (option `priority`: 1-5 or min, low, default, high, max/urgent; the names
  util.ParsePriority accepts), `X-Tags` (option `tags`: emoji short codes or words,
  comma-joined), `X-Markdown: yes` (option `markdown`, on by default: LLM text is markdown),
  `X-Click` and `X-Icon` (options `click`, `icon`: URLs; ntfy requires http(s) for icons).
- Authentication (publish.md#authentication): an access token `tk_…` goes as
  `Authorization: Bearer`, `user:password` as Basic auth (user/manager.go: tokens start
  with `tk_`).
- The topic: server/server.go topicRegex `[-_A-Za-z0-9]{1,64}`, minus the names the server
  keeps for its own pages (config.go DefaultDisallowedTopics).

Size: a message holds at most 4,096 bytes (config.go DefaultMessageSizeLimit, publish.md
"Limitations"); a longer body becomes an attachment, or is refused with 40014 when the
server keeps no attachments (server.go handleBodyAsAttachment). So we SPLIT at 4,096 UTF-8
bytes. Each part is its own phone notification, the app lists the newest first and
notifications can be grouped or dismissed one by one, so when there are several parts every
title carries "(2/3)": the reader can tell the order and whether something is missing.

Answers (server/errors.go, server.go handleError): success is 200 with the message as JSON
(`{"id":…,"time":…,"event":"message","topic":…}`, server/types.go). Errors are JSON
`{"code":40301,"http":403,"error":"forbidden","link":…}`: 400 (bad parameter), 401 40101
(credentials refused), 403 40301 (no write access: a reserved or protected topic), 413 41301
(too large as attachment) are permanent; 429 (42901 requests, 42908 daily message quota,
42909 failed logins) and 5xx, including 507 50701 (UnifiedPush topic without subscriber),
are transient. ntfy sends no Retry-After; one from a proxy is honoured.

Secrets: the token or password, and the topic. On a public server anyone who knows a topic
name can read along, so the topic is redacted from errors like a token, even when it is a
plain word (which then shows as *** wherever the word appears in the error).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from integrations.http import Redactor
from integrations.http.client import USER_AGENT

from .base import Message, OptionsError, Reply, Transport, parse_json, shorten
from .sizing import split_text, utf8_bytes

MAX_BODY = 4096  # bytes: server/config.go DefaultMessageSizeLimit
TOPIC = re.compile(r"[-_A-Za-z0-9]{1,64}")  # server/server.go topicRegex
RESERVED_TOPICS = frozenset(
    {"docs", "static", "file", "app", "metrics", "account", "settings", "signup", "login", "v1"}
)  # server/config.go DefaultDisallowedTopics
PRIORITIES = ("1", "2", "3", "4", "5", "min", "low", "default", "high", "max", "urgent")
# RFC 2047: an encoded-word is at most 75 characters; "=?utf-8?b?" + 60 base64 characters
# (45 bytes) + "?=" is 72.
_WORD_BYTES = 45

_CODE_HINTS = {
    40007: "the server refused option 'priority'",
    40009: "the topic name is not valid; check the topic URL",
    40010: "the server keeps this topic name for itself; choose another topic",
    40014: "the message was longer than this server's message size limit, and the server "
    "takes no attachments",
    40021: "the server refused option 'icon'",
    40101: "the access token (or user:password) was refused; check the recipient's access token",
    40301: "this account (or anyone without a token) may not publish to the topic: it is "
    "reserved or protected; set an access token with write access, or use another topic",
    41301: "the message was too large even as an attachment",
    42901: "too many requests; will retry later",
    42908: "the daily message quota is used up (it refills over the day); will retry later",
    42909: "too many failed logins from this address; will retry later",
    50701: "the topic is a UnifiedPush topic without a subscriber; will retry later",
}


class NtfyTransport(Transport):
    kind = "ntfy"
    label = "ntfy"
    options = {"priority": str, "tags": list, "markdown": bool, "click": str, "icon": str}
    url_label = "topic URL"
    needs_secret = True
    secret_label = "access token"
    status_hints = {
        **Transport.status_hints,
        401: "the access token was refused; check the recipient's access token",
        403: "this account may not publish to the topic; check the access token",
        404: "there is no ntfy topic at this URL; check the topic URL",
        413: "the message is too large for the server",
    }

    # -- configuration ---------------------------------------------------

    @classmethod
    def check_url_shape(cls, parts: Any) -> None:
        # Never quote the topic back (it is as good as a password on a public server),
        # except a reserved name, which cannot be anyone's topic.
        if parts.username or parts.password:
            raise OptionsError(
                "topic URL must not contain a user or password; put them in the "
                "access token as user:password"
            )
        if parts.query or parts.fragment:
            raise OptionsError("topic URL must not have a query string or fragment")
        topic = parts.path[1:]
        if not parts.path.startswith("/") or not TOPIC.fullmatch(topic):
            raise OptionsError(
                "topic URL must be the server followed by one topic name of 1-64 letters, "
                "digits, - or _ (https://ntfy.sh/mytopic)"
            )
        if topic in RESERVED_TOPICS:
            raise OptionsError(f"topic URL: ntfy keeps '{topic}' for its own pages; choose another")

    @classmethod
    def clean_options(cls, options: dict | None) -> dict:
        # `priority: 5` is what people write: take a whole number as its string form.
        value = options.get("priority") if isinstance(options, Mapping) else None
        if isinstance(value, int) and not isinstance(value, bool):
            options = {**options, "priority": str(value)}
        return super().clean_options(options)

    @classmethod
    def check_option_values(cls, options: dict) -> None:
        """Say at save time what ntfy would answer 400 for; normalizes in place."""
        if "priority" in options:
            priority = options["priority"].lower()
            if priority not in PRIORITIES:
                raise OptionsError(
                    "option 'priority' for ntfy must be 1-5 or min, low, default, high, "
                    "max or urgent"
                )
            options["priority"] = priority
        if "tags" in options:
            options["tags"] = _clean_tags(options["tags"])
        if "click" in options:
            _check_url("click", options["click"], schemes=None)
        if "icon" in options:
            _check_url("icon", options["icon"], schemes=("http", "https"))

    @classmethod
    def clean_secret(cls, secret: str) -> str:
        secret = super().clean_secret(secret)
        if not secret:
            return ""
        if any(ord(c) < 32 or ord(c) == 127 for c in secret):
            raise OptionsError("access token must be one line")
        user, colon, password = secret.partition(":")
        if colon:
            if not user or not password:
                raise OptionsError("access token as user:password needs both a user and a password")
            return secret
        if any(c.isspace() for c in secret):
            raise OptionsError("access token must not contain spaces")
        if not secret.startswith("tk_"):
            raise OptionsError("access token must be an ntfy token (tk_…) or user:password")
        return secret

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        extra = {urlsplit(self.url).path[1:]}  # the topic
        _, colon, password = self.secret.partition(":")
        if colon and len(password) >= 4:  # a shorter one would mangle every error message
            extra.add(password)
        self.redact = Redactor((*self.redact.secrets, *extra))

    # -- sending -----------------------------------------------------------

    def build(self, message: Message) -> list[dict]:
        parts = split_text(self._body(message), MAX_BODY, utf8_bytes)
        title = " ".join(message.title.split())
        headers = self._option_headers()
        payloads = []
        for number, part in enumerate(parts, 1):
            part_title = title
            if len(parts) > 1:
                part_title = f"{title} ({number}/{len(parts)})".strip()
            top = {"X-Title": part_title} if part_title else {}
            payloads.append({"headers": {**top, **headers}, "body": part})
        return payloads

    def _body(self, message: Message) -> str:
        blocks = [message.text.strip()]
        footer = message.footer.strip()
        if footer:
            blocks.append(f"_{footer}_" if self.opts.get("markdown", True) else footer)
        return "\n\n".join(b for b in blocks if b)

    def _option_headers(self) -> dict[str, str]:
        opts = self.opts
        headers = {}
        if "priority" in opts:
            headers["X-Priority"] = opts["priority"]
        if opts.get("tags"):
            headers["X-Tags"] = ",".join(opts["tags"])
        if opts.get("markdown", True):
            headers["X-Markdown"] = "yes"
        if "click" in opts:
            headers["X-Click"] = opts["click"]
        if "icon" in opts:
            headers["X-Icon"] = opts["icon"]
        return headers

    def prepare(self, payload: dict) -> tuple[str, dict[str, str], bytes]:
        headers = {"Content-Type": "text/plain; charset=utf-8", "User-Agent": USER_AGENT}
        for name, value in payload.get("headers", {}).items():
            headers[name] = header_value(value)
        authorization = self._authorization()
        if authorization:
            headers["Authorization"] = authorization
        return self.url, headers, payload.get("body", "").encode("utf-8")

    def _authorization(self) -> str:
        if not self.secret:
            return ""
        if ":" in self.secret:
            return "Basic " + base64.b64encode(self.secret.encode("utf-8")).decode("ascii")
        return f"Bearer {self.secret}"

    # -- judging the answer -------------------------------------------------

    def check(self, reply: Reply, headers: Mapping, text: str) -> None:
        if reply.status == 200:
            data = parse_json(text)
            if isinstance(data, dict) and isinstance(data.get("id"), str) and data["id"]:
                return
            raise self.error(
                "ntfy answered 200 without a message id; the topic URL does not look like "
                "an ntfy server",
                retryable=False,
                reply=reply,
            )
        raise self.status_error(reply, headers, text)

    def error_detail(self, text: str) -> str:
        data = parse_json(text)
        if isinstance(data, dict) and isinstance(data.get("error"), str) and data["error"]:
            code = _code(data)
            return shorten(data["error"] + (f", code {code}" if code else ""))
        return super().error_detail(text)

    def hint(self, status: int, text: str) -> str:
        data = parse_json(text)
        code = _code(data) if isinstance(data, dict) else None
        return _CODE_HINTS.get(code) or super().hint(status, text)


def header_value(value: str) -> str:
    """`value` as one header line; anything but plain ASCII as RFC 2047 encoded-words.

    Text that merely looks like an encoded-word ("=?") is encoded too, or the server would
    decode it. Decoders drop the blanks between adjacent encoded-words (RFC 2047 section
    6.2), so the words carry the text's own spaces.
    """
    value = " ".join(str(value).split())
    if value.isascii() and "=?" not in value:
        return value
    return " ".join(
        "=?utf-8?b?" + base64.b64encode(chunk.encode("utf-8")).decode("ascii") + "?="
        for chunk in _utf8_chunks(value, _WORD_BYTES)
    )


def _utf8_chunks(text: str, limit: int) -> Iterator[str]:
    """Consecutive pieces of `text` of at most `limit` UTF-8 bytes, cut between characters."""
    chunk, size = "", 0
    for char in text:
        width = len(char.encode("utf-8"))
        if chunk and size + width > limit:
            yield chunk
            chunk, size = "", 0
        chunk += char
        size += width
    if chunk:
        yield chunk


def _clean_tags(tags: list) -> list[str]:
    cleaned = []
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or "," in tag:
            raise OptionsError(
                "option 'tags' for ntfy must be a list of words without commas "
                "(emoji short codes such as warning or tada)"
            )
        cleaned.append(" ".join(tag.split()))
    return cleaned


def _check_url(name: str, value: str, schemes: tuple[str, ...] | None) -> None:
    """A URL ntfy will take: no spaces, a scheme (http or https when `schemes` says so)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    scheme = parts.scheme.lower() if parts else ""
    bad = any(c.isspace() for c in value) or not scheme or (schemes and scheme not in schemes)
    if bad or (scheme in ("http", "https") and not parts.hostname):
        kinds = "an http(s) URL" if schemes else "a URL (https://…, mailto:…)"
        raise OptionsError(f"option '{name}' for ntfy must be {kinds}")


def _code(data: dict) -> int | None:
    code = data.get("code")
    return code if isinstance(code, int) and not isinstance(code, bool) else None
