"""LINE: the Messaging API's push message
(https://developers.line.biz/en/reference/messaging-api/#send-push-message).

LINE Notify, the old one-token webhook, was shut down on 31 March 2025; this is its
replacement: a LINE Official Account with a Messaging API channel, whose channel access token
is the recipient's secret. The URL is the API server (empty: https://api.line.me). The request
is `POST {server}/v2/bot/message/push` with `Authorization: Bearer {token}` and
`{"to": ..., "messages": [...], "notificationDisabled": ...}`; `to` is a user, group or room
id (U, C or R and 32 hex digits), never the LINE ID people see in the app.

Text (#text-message): LINE shows no markdown, so the message is rendered as readable plain
text (markdown read by telegram.py's span writer: no emphasis markers, bullets `•`, a link as
"text (url)"), title on top and footer at the end. A text message holds at most 5,000
characters (counted in UTF-16 units, conservative for emoji) and a push at most 5 messages, so
a part is one push of up to 5 text bubbles and a longer message becomes several pushes.

Retries (https://developers.line.biz/en/docs/messaging-api/retrying-api-request/): every
push carries `X-Line-Retry-Key`, a UUID kept in the part as `_retry_key` (parts are stored and
re-posted as they are), derived from `Message.key` and the part's index, or random for a
one-off test message. A push retried after a timeout or a 5xx whose first try did get through
is answered 409 with `x-line-accepted-request-id`: that is a SUCCESS, not an error. LINE keeps
a key for 24 hours.

Answers (#status-codes, #error-responses): 200 `{}` or `{"sentMessages": [...]}`; errors are
`{"message": "...", "details": [{"message", "property"}]}`. 400, 401 and 403 are permanent;
429 is transient (Retry-After when given) unless it is "You have reached your monthly limit."
(the plan's message quota, https://developers.line.biz/en/docs/messaging-api/handling-http-429-errors/),
which no retry this month can fix; 5xx and network errors are transient.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from integrations.http import header

from .base import (
    Message,
    OptionsError,
    Reply,
    Transport,
    encode_json,
    json_headers,
    parse_json,
    shorten,
)
from .sizing import split_text, utf16_units
from .spans import markdown_spans

DEFAULT_SERVER = "https://api.line.me"
MAX_TEXT = 5000  # characters per text message
MAX_MESSAGES = 5  # message objects per push
RETRY_KEY = "_retry_key"  # in a part, for prepare() to move into the header

_TO = re.compile(r"[UCR][0-9a-f]{32}")
_TOKEN = re.compile(r"[A-Za-z0-9+/=._-]{20,1000}")
_CHANNEL_SECRET = re.compile(r"[0-9a-f]{32}")
_RETRY_KEYS = uuid.UUID("3c1a7f0e-5b2d-4e8a-9f61-2d7c4b8e0a13")  # dify-hub's, for uuid5


class LineTransport(Transport):
    kind = "line"
    label = "LINE"
    options = {"to": str, "silent": bool}
    required_options = ("to",)
    url_label = "Messaging API server URL"
    url_required = False
    default_url = DEFAULT_SERVER
    needs_secret = True
    secret_required = True
    secret_label = "channel access token"
    status_hints = {
        **Transport.status_hints,
        400: "LINE rejected the message",
        401: "the channel access token was refused: issue a new one in the LINE Developers "
        "Console (the channel's Messaging API tab) and update the recipient",
        403: "this channel may not send push messages (check that it is the Messaging API "
        "channel of your Official Account)",
        409: "LINE refused a repeated retry key",
    }

    # -- configuration -----------------------------------------------------------------

    @classmethod
    def check_option_values(cls, options: dict) -> None:
        to = options.get("to", "")
        if to.startswith("@"):
            raise OptionsError(
                "option 'to' for line must be a user, group or room ID, not a LINE ID (@...): "
                "take it from a webhook event, or 'Your user ID' on the channel's Basic "
                "settings tab"
            )
        if to and not _TO.fullmatch(to):
            raise OptionsError(
                "option 'to' for line must be a user, group or room ID: U, C or R followed by "
                "32 hex digits (33 characters)"
            )

    @classmethod
    def clean_secret(cls, secret: str) -> str:
        secret = super().clean_secret(secret)
        if secret.lower().startswith("bearer "):
            secret = secret[7:].strip()  # pasted from a curl example
        # Never quoted back: it is a credential even when it is the wrong one.
        if _CHANNEL_SECRET.fullmatch(secret):
            raise OptionsError(
                "channel access token: this looks like the channel secret (32 hex digits); "
                "the access token is the long one under 'Channel access token' on the "
                "Messaging API tab"
            )
        if secret and not _TOKEN.fullmatch(secret):
            raise OptionsError(
                "channel access token does not look like one (a long run of letters, digits, "
                "'+', '/' and '='); copy it again from the LINE Developers Console"
            )
        return secret

    @classmethod
    def check_url_shape(cls, parts: Any) -> None:
        if (parts.hostname or "").lower() == "notify-api.line.me":
            raise OptionsError(
                "LINE Notify was shut down on 31 March 2025: leave the Messaging API server "
                "URL empty and use an Official Account's channel access token"
            )
        if "/v2/bot" in parts.path:
            raise OptionsError(
                "Messaging API server URL is the server only (leave it empty for "
                "api.line.me), not an endpoint"
            )

    # -- building ----------------------------------------------------------------------

    def build(self, message: Message) -> list[dict]:
        blocks = [message.title.strip(), plain_text(message.text.strip()), message.footer.strip()]
        text = "\n\n".join(block for block in blocks if block)
        chunks = split_text(text, MAX_TEXT, utf16_units)
        groups = [chunks[i : i + MAX_MESSAGES] for i in range(0, len(chunks), MAX_MESSAGES)]
        return [
            {
                "to": self.opts["to"],
                "messages": [{"type": "text", "text": chunk} for chunk in group],
                "notificationDisabled": bool(self.opts.get("silent", False)),
                RETRY_KEY: retry_key(message.key, index),
            }
            for index, group in enumerate(groups)
        ]

    def prepare(self, payload: dict) -> tuple[str, dict[str, str], bytes]:
        body = {name: value for name, value in payload.items() if name != RETRY_KEY}
        headers = {**json_headers(), "Authorization": f"Bearer {self.secret}"}
        if payload.get(RETRY_KEY):
            headers["X-Line-Retry-Key"] = payload[RETRY_KEY]
        return f"{self.url.rstrip('/')}/v2/bot/message/push", headers, encode_json(body)

    # -- judging the answer ------------------------------------------------------------

    def check(self, reply: Reply, headers: Mapping, text: str) -> None:
        if reply.status == 200 and isinstance(parse_json(text), dict):
            return
        if reply.status == 409 and _already_accepted(headers, text):
            return  # an earlier try of this very push was delivered
        if reply.status == 200:
            raise self.error(
                "LINE answered 200 without JSON; the Messaging API server URL does not look "
                "like the Messaging API",
                retryable=False,
                reply=reply,
            )
        raise self.status_error(reply, headers, text)

    def is_retryable(self, status: int, text: str) -> bool:
        if status == 429 and _monthly_limit(text):
            return False
        return super().is_retryable(status, text)

    def retry_after(self, status: int, headers: Mapping, text: str) -> float | None:
        return None if _monthly_limit(text) else super().retry_after(status, headers, text)

    def error_detail(self, text: str) -> str:
        answer = _answer(text)
        message = answer.get("message")
        if not isinstance(message, str) or not message:
            return super().error_detail(text)
        details = [
            f"{d.get('property')}: {d.get('message')}"
            if d.get("property")
            else str(d.get("message"))
            for d in answer.get("details") or []
            if isinstance(d, dict) and d.get("message")
        ]
        return shorten(f"{message} ({'; '.join(details)})" if details else message)

    def hint(self, status: int, text: str) -> str:
        if status == 429 and _monthly_limit(text):
            return (
                "the Official Account has sent this month's messages: raise the plan in LINE "
                "Official Account Manager or wait for next month"
            )
        message = str(_answer(text).get("message") or "").lower()
        if status == 400 and ("'to'" in message or _detail_about(text, "to")):
            return (
                "check option 'to': it must be the user, group or room ID (U, C or R and 32 hex "
                "digits) of someone who added the Official Account"
            )
        if status == 400 and "failed to send messages" in message:
            return (
                "LINE could not deliver to option 'to': the user may have blocked the Official "
                "Account or never added it as a friend, or the bot left the group"
            )
        if 300 <= status < 400:
            return f"the {self.url_label} redirects elsewhere; use the final URL"
        return super().hint(status, text)


def plain_text(markdown: str) -> str:
    """The markdown as LINE shows it: the words without markers, a link as "text (url)"."""
    out: list[str] = []
    link, shown = "", ""  # the open link's URL and the text shown for it so far
    for span in markdown_spans(markdown):
        href = next((arg for kind, arg in span.marks if kind == "a"), "")
        if href != link:
            out.append(_link_tail(link, shown))
            link, shown = href, ""
        shown += span.text if link else ""
        out.append(span.text)
    out.append(_link_tail(link, shown))
    return "".join(out)


def _link_tail(url: str, shown: str) -> str:
    # An autolink (<https://...>) already shows its URL.
    return f" ({url})" if url and url != shown.strip() else ""


def retry_key(key: str, index: int) -> str:
    """The X-Line-Retry-Key of part `index`: the same on every retry of one delivery."""
    if not key:
        return str(uuid.uuid4())  # a one-off (a test message) is never retried
    return str(uuid.uuid5(_RETRY_KEYS, f"{key}:{index}"))


def _answer(text: str) -> dict:
    data = parse_json(text)
    return data if isinstance(data, dict) else {}


def _detail_about(text: str, prop: str) -> bool:
    details = _answer(text).get("details") or []
    return any(isinstance(d, dict) and d.get("property") == prop for d in details)


def _monthly_limit(text: str) -> bool:
    return "monthly limit" in str(_answer(text).get("message") or "").lower()


def _already_accepted(headers: Mapping, text: str) -> bool:
    if header(headers, "x-line-accepted-request-id"):
        return True
    return "already accepted" in str(_answer(text).get("message") or "").lower()
