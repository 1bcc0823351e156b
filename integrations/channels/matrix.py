"""Matrix rooms, through a bot account's access token (client-server API v3).

The rules, from the spec (https://spec.matrix.org/latest/client-server-api/):
- Sending: `PUT /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}` with the
  event content as JSON ("Send a message event to the given room"), the token as
  `Authorization: Bearer` ("Using access tokens"). Success is 200 `{"event_id": "$…"}`;
  we require the event_id.
- Transaction ids make a retry idempotent: a homeserver answers a repeated
  (path, txnId) with the original event instead of posting again ("Transaction
  identifiers"). Ours is derived from `Message.key` and the part's index and STORED in the
  part as `_txn_id` (moved into the URL by `prepare()`, never sent in the body), because
  the caller stores the parts and re-posts one unchanged on a retry. A one-off message
  without a key gets a random id. Homeservers forget transaction ids after a while
  (Synapse: 30 to 60 minutes, rest/client/transactions.py), so only a retry within that
  window is deduplicated.
- The room: a room id (`!opaque:server`, or `!opaque` in room version 12) or an alias
  (`#family:server`) (appendices "Room IDs", "Room Aliases"). An alias is resolved once per
  transport with `GET /_matrix/client/v3/directory/room/{alias}` ("Room directory"); a 404
  M_NOT_FOUND there is a permanent error naming the alias.
- Content: `msgtype` m.notice by default (option `notice`; "m.notice": bots send notices,
  and other bots must not answer them) or m.text, `body` the plain text (the markdown as
  written), `format: org.matrix.custom.html` with `formatted_body` rendered by html.py
  (raw HTML in the model's text is escaped), and an empty `m.mentions`: the mentions module
  recommends it so that "@room" or a name in an LLM's text pings nobody on servers that
  still run the legacy body-matching push rules.
- Size: "The complete event MUST NOT be larger than 65536 bytes" ("Size limits"), counted
  with the envelope (ids, hashes, signatures) in canonical JSON, which is UTF-8. We SPLIT so
  that body plus formatted_body stay within 32,000 bytes (about 14 KB of text a part): half
  the limit leaves ample room for the envelope and the other keys. Parts never end inside
  a code block (sizing.py).
- Errors are `{"errcode": …, "error": …}` ("Standard error response"; shapes as Synapse
  sends them, synapse/api/errors.py): M_FORBIDDEN 403 (not in the room, or too low a power
  level), M_UNKNOWN_TOKEN 401 (with `soft_logout`), M_MISSING_TOKEN 401, M_NOT_FOUND 404,
  M_UNRECOGNIZED 404/405, M_TOO_LARGE 413 and M_UNKNOWN 400 are permanent;
  M_LIMIT_EXCEEDED 429 is transient, after `Retry-After` (the spec's way since v1.10) or
  else the deprecated `retry_after_ms`; 5xx is transient.

The bot must be in the room: invite it and let it join. End-to-end encrypted rooms get the
message unencrypted (clients mark it so); this transport does not encrypt.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from integrations.http import header, parse_retry_after

from .base import (
    REPLY_BODY_LIMIT,
    Message,
    OptionsError,
    Reply,
    Transport,
    TransportError,
    encode_json,
    json_headers,
    parse_json,
    shorten,
)
from .html import to_html
from .sizing import json_utf8_bytes, split_text

CLIENT_API = "/_matrix/client/v3"
MAX_CONTENT_BYTES = 32_000  # body + formatted_body, as JSON strings in UTF-8
FIRST_CUT_BYTES = 14_000  # the plain text of a part, before its HTML is measured
MAX_ID_BYTES = 255  # room ids and aliases (appendices)
HTML_FORMAT = "org.matrix.custom.html"

_HINTS = {
    "M_MISSING_TOKEN": "no access token was sent; set the recipient's access token",
    "M_NOT_FOUND": "the room or endpoint does not exist; check option 'room' and the "
    "homeserver URL",
    "M_UNRECOGNIZED": "the homeserver does not know this endpoint; check the homeserver URL",
    "M_TOO_LARGE": "the message is too large for the homeserver",
    "M_LIMIT_EXCEEDED": "rate limited; will retry later",
    "M_RESOURCE_LIMIT_EXCEEDED": "the homeserver has reached a resource limit; tell its admin",
    "M_BAD_JSON": "the homeserver did not accept the event (a bug in dify-hub; please report it)",
    "M_NOT_JSON": "the homeserver did not accept the event (a bug in dify-hub; please report it)",
}
_NOT_IN_ROOM = (
    "the bot account is not in this room; invite it, let it join (log in as the bot and "
    "accept), then retry"
)
_NO_POWER = "the bot may not post in this room; raise its power level in the room settings"
_UNKNOWN_ROOM = "the homeserver knows no such room; check option 'room'"
_FORBIDDEN = "the bot may not post in this room; invite it to the room or check its power level"
_MSC3848 = "org.matrix.msc3848.unstable.errcode"
_SOFT_LOGOUT = (
    "the access token has expired (soft logout); log the bot in again and paste its new "
    "access token"
)
_LOGGED_OUT = (
    "the access token is not valid (logged out, revoked or mistyped); get a new one for the "
    "bot account"
)


class MatrixTransport(Transport):
    kind = "matrix"
    label = "Matrix"
    options = {"room": str, "notice": bool}
    required_options = ("room",)
    url_label = "homeserver URL"
    needs_secret = True
    secret_required = True
    secret_label = "access token"
    http_method = "PUT"
    status_hints = {
        **Transport.status_hints,
        401: "the access token was refused; get a new one for the bot account",
        403: _FORBIDDEN,
        404: "not found; check the homeserver URL and option 'room'",
    }

    # -- configuration ---------------------------------------------------

    @classmethod
    def check_url_shape(cls, parts: Any) -> None:
        if parts.username or parts.password:
            raise OptionsError("homeserver URL must not contain a user or password")
        if parts.query or parts.fragment:
            raise OptionsError("homeserver URL must not have a query string or fragment")
        if "/_matrix" in parts.path:
            raise OptionsError(
                "homeserver URL is the server's base URL (https://matrix.example.org), "
                "without /_matrix/…"
            )

    @classmethod
    def check_option_values(cls, options: dict) -> None:
        room = options["room"]
        shape = (
            "option 'room' for matrix must be a room id (!abc123:example.org) or a room "
            "alias (#family:example.org)"
        )
        if any(c.isspace() or c == "\x00" for c in room) or len(room.encode()) > MAX_ID_BYTES:
            raise OptionsError(shape)
        if room.startswith("!") and len(room) > 1 and not room.endswith(":"):
            return
        local, colon, server = room[1:].partition(":")
        if not (room.startswith("#") and local and colon and server):
            raise OptionsError(shape)

    @classmethod
    def clean_secret(cls, secret: str) -> str:
        secret = super().clean_secret(secret)
        if any(c.isspace() or ord(c) < 32 for c in secret):
            raise OptionsError(
                "access token must not contain spaces (paste the token alone, without 'Bearer')"
            )
        return secret

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base = self.url.rstrip("/")
        self._room_id = ""  # the alias's room id, once looked up

    # -- building ----------------------------------------------------------

    def build(self, message: Message) -> list[dict]:
        blocks = []
        if message.title.strip():
            blocks.append(f"**{message.title.strip()}**")
        blocks.append(message.text.strip())
        if message.footer.strip():
            blocks.append(f"_{message.footer.strip()}_")
        text = "\n\n".join(b for b in blocks if b)
        msgtype = "m.notice" if self.opts.get("notice", True) else "m.text"
        # Same key, same ids: a re-built delivery is deduplicated like a re-posted part.
        base = f"dify-hub.{message.key}" if message.key else f"dify-hub.once.{uuid.uuid4().hex}"
        return [
            {**_content(chunk, msgtype), "_txn_id": f"{base}.{index}"}
            for index, chunk in enumerate(_split(text))
        ]

    # -- sending -----------------------------------------------------------

    def prepare(self, payload: dict) -> tuple[str, dict[str, str], bytes]:
        content = {k: v for k, v in payload.items() if not k.startswith("_")}
        # A part stored without an id still gets one (it is then not deduplicated).
        txn_id = payload.get("_txn_id") or f"dify-hub.once.{uuid.uuid4().hex}"
        room = quote(self.room_id(), safe="")
        url = f"{self.base}{CLIENT_API}/rooms/{room}/send/m.room.message/{quote(txn_id, safe='')}"
        return url, self._headers(), encode_json(content)

    def room_id(self) -> str:
        """The room to post to: option `room`, or the room id its alias points to."""
        room = self.opts["room"]
        if room.startswith("!"):
            return room
        if not self._room_id:
            self._room_id = self._look_up(room)
        return self._room_id

    def _look_up(self, alias: str) -> str:
        url = f"{self.base}{CLIENT_API}/directory/room/{quote(alias, safe='')}"
        status, headers, raw = self._request(url, self._headers(), b"", method="GET")
        text = raw.decode("utf-8", errors="replace")
        reply = Reply(status=status, body=text[:REPLY_BODY_LIMIT])
        data = _json_object(text)
        room_id = data.get("room_id")
        if status == 200 and isinstance(room_id, str) and room_id.startswith("!"):
            return room_id
        if status == 200:
            raise self.error(
                f"Matrix answered the lookup of the room alias {alias} with no room_id; "
                "check the homeserver URL",
                retryable=False,
                reply=reply,
            )
        if status == 404 and data.get("errcode") == "M_NOT_FOUND":
            raise self.error(
                f"Matrix knows no room with the alias {alias} (M_NOT_FOUND): check option "
                "'room', or use the room id from the room's settings",
                retryable=False,
                reply=reply,
            )
        raise self._look_up_error(alias, reply, headers, text)

    def _look_up_error(
        self, alias: str, reply: Reply, headers: Mapping, text: str
    ) -> TransportError:
        """Like `status_error`, saying that it was the alias lookup that failed."""
        message = f"Matrix could not look up the room alias {alias}: HTTP {reply.status}"
        detail = self.error_detail(text)
        message += f" ({detail})" if detail else ""
        hint = self.hint(reply.status, text)
        message += f": {hint}" if hint else ""
        return self.error(
            message,
            retryable=self.is_retryable(reply.status, text),
            reply=reply,
            retry_after=self.retry_after(reply.status, headers, text),
        )

    def _headers(self) -> dict[str, str]:
        return {**json_headers(), "Authorization": f"Bearer {self.secret}"}

    # -- judging the answer -------------------------------------------------

    def check(self, reply: Reply, headers: Mapping, text: str) -> None:
        if reply.status == 200:
            event_id = _json_object(text).get("event_id")
            if isinstance(event_id, str) and event_id:
                return
            raise self.error(
                "Matrix answered 200 without an event_id; the homeserver URL does not look "
                "like a Matrix client API",
                retryable=False,
                reply=reply,
            )
        raise self.status_error(reply, headers, text)

    def is_retryable(self, status: int, text: str) -> bool:
        if _json_object(text).get("errcode") == "M_LIMIT_EXCEEDED":
            return True
        return super().is_retryable(status, text)

    def error_detail(self, text: str) -> str:
        data = _json_object(text)
        errcode, error = data.get("errcode"), data.get("error")
        if isinstance(errcode, str) and errcode:
            return shorten(f"{errcode}: {error}" if isinstance(error, str) and error else errcode)
        return super().error_detail(text)

    def hint(self, status: int, text: str) -> str:
        data = _json_object(text)
        errcode = data.get("errcode")
        if errcode == "M_UNKNOWN_TOKEN":
            return _SOFT_LOGOUT if data.get("soft_logout") is True else _LOGGED_OUT
        if errcode == "M_FORBIDDEN":
            return _forbidden_hint(data)
        return _HINTS.get(errcode) or super().hint(status, text)

    def retry_after(self, status: int, headers: Mapping, text: str) -> float | None:
        data = _json_object(text)
        if status != 429 and data.get("errcode") != "M_LIMIT_EXCEEDED":
            return super().retry_after(status, headers, text)
        wait = parse_retry_after(header(headers, "Retry-After"))
        if wait is not None:
            return wait
        ms = data.get("retry_after_ms")
        if isinstance(ms, (int, float)) and not isinstance(ms, bool):
            return max(0.0, ms / 1000)
        return None


def _forbidden_hint(data: dict) -> str:
    """M_FORBIDDEN covers several causes; Synapse's wording tells them apart."""
    error = data.get("error")
    error = error.lower() if isinstance(error, str) else ""
    # Synapse with MSC3848 on adds the finer code beside M_FORBIDDEN.
    if "not in room" in error or data.get(_MSC3848) == "ORG.MATRIX.MSC3848.NOT_JOINED":
        return _NOT_IN_ROOM
    if "unknown room" in error:
        return _UNKNOWN_ROOM
    if "power" in error or "permission" in error:
        return _NO_POWER
    return _FORBIDDEN


def _content(text: str, msgtype: str) -> dict:
    return {
        "msgtype": msgtype,
        "body": text,
        "format": HTML_FORMAT,
        "formatted_body": to_html(text),
        "m.mentions": {},
    }


def _split(text: str, cut: int = FIRST_CUT_BYTES) -> list[str]:
    """Parts whose body plus HTML fit MAX_CONTENT_BYTES.

    Measuring the HTML means rendering it, and split_text measures many prefixes of each
    part; so we cut by the plain text's bytes (FIRST_CUT_BYTES: prose renders to HTML a few
    per cent larger than its markdown), render each part once, and cut a part that is still
    too large (text full of <, > and &, which HTML escapes) again, smaller in proportion.
    """
    parts = []
    for chunk in split_text(text, cut, json_utf8_bytes):
        size = _content_bytes(chunk)
        if size <= MAX_CONTENT_BYTES:
            parts.append(chunk)
        else:  # the new cut is below this chunk's size, so each round cuts it further
            parts.extend(
                _split(chunk, int(json_utf8_bytes(chunk) * MAX_CONTENT_BYTES / size * 0.9))
            )
    return parts


def _content_bytes(text: str) -> int:
    """What a part costs against MAX_CONTENT_BYTES: its plain and its HTML form."""
    return json_utf8_bytes(text) + json_utf8_bytes(to_html(text))


def _json_object(text: str) -> dict:
    data = parse_json(text)
    return data if isinstance(data, dict) else {}
