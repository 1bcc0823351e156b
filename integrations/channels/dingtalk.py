"""DingTalk custom robot (`https://oapi.dingtalk.com/robot/send?access_token=…`).

Body: `{"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}`. The
title only shows in the notification preview and the chat list (and must
contain the keyword if the robot has a keyword filter), so it is also
repeated as a heading at the top of the text. DingTalk's markdown ignores
single line breaks, so prose lines get a trailing double space.

Answers are HTTP 200 `{"errcode": 0, "errmsg": "ok"}`; non-zero = failure
(see coded.py). 130101 "send too fast, exceed 20 times per minute" is
transient: DingTalk then throttles the robot for 10 minutes, hence
retry_after=600. -1 (system busy) is transient. 310000 (keyword not in
content / sign not match / IP not allowed), 300001/300005 (token does not
exist), 400102 (robot stopped) and every other code are permanent.

Signing (optional secret): `&timestamp=<ms>&sign=<urlencoded base64
HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")>` is appended to the URL
at send time.

Size: markdown bodies are commonly quoted as limited to 20,000 bytes (not
verified against DingTalk's own docs). DingTalk asks senders to merge
messages (20 per minute per robot), so we TRUNCATE with a visible marker
rather than split: a second part would eat the per-minute budget and risk
the 10-minute throttle.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .base import Message, OptionsError, encode_json, json_headers
from .coded import CodedReplyTransport
from .markdown import first_line, hard_line_breaks
from .sizing import json_utf8_bytes, truncate_text

MAX_BODY = 19_000  # bytes of JSON body, under the 20,000-byte limit


class DingTalkTransport(CodedReplyTransport):
    kind = "dingtalk"
    label = "DingTalk"
    options: dict[str, type] = {}
    needs_secret = True
    transient_codes = {130101: 600.0, -1: None}
    code_hints = {
        130101: "the robot sent more than 20 messages a minute and is throttled for 10 minutes",
        310000: "the robot's security settings refused it: keyword, signing secret or IP allow-list",
        300001: "the access token does not exist; copy the robot's webhook URL again",
        300005: "the access token does not exist; copy the robot's webhook URL again",
        400102: "the robot is stopped; re-enable it in the group settings",
        460101: "the message is too long for DingTalk",
    }

    @classmethod
    def check_url_shape(cls, parts) -> None:
        if not dict(parse_qsl(parts.query)).get("access_token"):
            raise OptionsError(
                "webhook URL has no access_token parameter; copy the robot's full URL"
            )

    def build(self, message: Message) -> list[dict]:
        title = message.title.strip()
        footer = message.footer.strip()
        preview = title or first_line(message.text) or "Message"
        head = f"### {title}\n\n" if title else ""
        tail = f"\n\n> {footer}" if footer else ""
        text = hard_line_breaks(message.text.strip())
        overhead = len(encode_json(self._payload(preview, head + tail)))
        text = truncate_text(text, MAX_BODY - overhead, json_utf8_bytes)
        return [self._payload(preview, head + text + tail)]

    @staticmethod
    def _payload(title: str, text: str) -> dict:
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}

    def prepare(self, payload: dict) -> tuple[str, dict[str, str], bytes]:
        url = self.url
        if self.secret:
            timestamp = str(int(time.time() * 1000))
            parts = urlsplit(url)
            query = [
                (k, v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
                if k not in ("timestamp", "sign")
            ]
            query += [("timestamp", timestamp), ("sign", dingtalk_sign(self.secret, timestamp))]
            url = urlunsplit(parts._replace(query=urlencode(query)))
        return url, json_headers(), encode_json(payload)


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """base64 HMAC-SHA256; the caller URL-encodes it (urlencode does)."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
