"""Feishu / Lark custom bot (`https://open.feishu.cn/open-apis/bot/v2/hook/<token>`).

We send an interactive card: a header with the title, a `markdown` element
with the text and a `note` with the footer. The markdown element renders
bold, italic, strike, links, lists and code blocks (a `div` with `lark_md`
does not do lists or code, which LLM output is full of); headings are turned
into bold lines because only newer clients render them.

Answers are HTTP 200 with `{"code": 0, "msg": "success", ...}`; any non-zero
code is a failure (see coded.py). Known codes: 19001 bad token, 19021 bad
signature or clock skew > 1 h, 19022 IP not allowed, 19024 keyword not
found, 9499 bad request -- permanent. 11232 ("frequency limited") is the
per-bot rate limit (about 100/min and 5/s) and is retried; so is 2200
(internal error). Both transient codes come from public bug reports (e.g.
openclaw/openclaw#70879), not from Feishu's own table.

Signing (optional secret): `timestamp` (seconds) and `sign` =
base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")) go in the JSON
body, added at send time so retries carry a fresh timestamp.

Size: 20 KB per request body. Longer text is SPLIT into several cards (the
bot allows 5 per second), each repeating the title with "(2/3)" so a keyword
filter that matches the title still lets every part through.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from .base import Message, OptionsError, encode_json, json_headers
from .coded import CodedReplyTransport
from .markdown import headings_to_bold
from .sizing import json_utf8_bytes, split_text

MAX_BODY = 19_000  # bytes; documented limit 20 KB, minus room for timestamp + sign
COLORS = (
    "blue",
    "wathet",
    "turquoise",
    "green",
    "yellow",
    "orange",
    "red",
    "carmine",
    "violet",
    "purple",
    "indigo",
    "grey",
)


class FeishuTransport(CodedReplyTransport):
    kind = "feishu"
    label = "Feishu"
    options = {"header_color": str}
    needs_secret = True
    code_key = "code"
    message_key = "msg"
    transient_codes = {11232: None, 2200: None}
    code_hints = {
        19001: "the webhook token is invalid; copy the bot's webhook URL again",
        19021: "signature check failed; check the signing secret and this server's clock",
        19022: "this server's IP address is not in the bot's allow-list",
        19024: "the bot's keyword filter did not match; put a keyword in the title or drop the filter",
        9499: "Feishu could not read the message (malformed or larger than 20 KB)",
        11232: "the bot is rate limited (about 100 messages a minute); will retry",
    }

    @classmethod
    def check_option_values(cls, options: dict) -> None:
        color = options.get("header_color")
        if color is not None and color not in COLORS:
            raise OptionsError(
                f"option 'header_color' for feishu must be one of: {', '.join(COLORS)}"
            )

    def build(self, message: Message) -> list[dict]:
        title, footer = message.title.strip(), message.footer.strip()
        text = headings_to_bold(message.text.strip())
        # Measure a card with the longest title and the footer: every part fits.
        widest = self._card(f"{title} (99/99)" if title else "", "", footer)
        room = MAX_BODY - len(encode_json(widest))
        parts = split_text(text, room, json_utf8_bytes)
        cards = []
        for number, part in enumerate(parts, start=1):
            part_title = f"{title} ({number}/{len(parts)})" if title and len(parts) > 1 else title
            last = number == len(parts)
            cards.append(self._card(part_title, part, footer if last else ""))
        return cards

    def _card(self, title: str, text: str, footer: str) -> dict:
        elements: list[dict] = [{"tag": "markdown", "content": text}]
        if footer:
            elements.append({"tag": "note", "elements": [{"tag": "plain_text", "content": footer}]})
        card: dict = {"config": {"wide_screen_mode": True}, "elements": elements}
        if title:
            card["header"] = {
                "title": {"tag": "plain_text", "content": title},
                "template": self.opts.get("header_color", "blue"),
            }
        return {"msg_type": "interactive", "card": card}

    def prepare(self, payload: dict) -> tuple[str, dict[str, str], bytes]:
        if self.secret:
            timestamp = str(int(time.time()))
            payload = {
                "timestamp": timestamp,
                "sign": feishu_sign(self.secret, timestamp),
                **payload,
            }
        return self.url, json_headers(), encode_json(payload)


def feishu_sign(secret: str, timestamp: str) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
