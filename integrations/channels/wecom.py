"""WeCom (企业微信) group robot (`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`).

Body: `{"msgtype": "markdown", "markdown": {"content": ...}}`. WeCom markdown
renders headings, **bold**, links, `code` and quotes, plus
`<font color="comment">` for grey text (used for the footer).

Answers are HTTP 200 `{"errcode": 0, "errmsg": "ok"}`; non-zero = failure
(see coded.py). 45009 "api freq out of limit" (20 messages a minute per
robot) and -1 (system busy) are transient; 93000 "invalid webhook url",
40008 (invalid message type), 40058 (invalid parameter, e.g. content too
long) and every other code are permanent.

Size: `content` is limited to 4096 BYTES of UTF-8 -- a Chinese character
takes 3 -- so we SPLIT on a byte budget, at paragraph or line ends where
possible and never inside a character.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from .base import Message, OptionsError
from .coded import CodedReplyTransport
from .sizing import split_text, utf8_bytes

MAX_CONTENT = 4096  # bytes


class WeComTransport(CodedReplyTransport):
    kind = "wecom"
    label = "WeCom"
    options: dict[str, type] = {}
    transient_codes = {45009: 60.0, -1: None}
    code_hints = {
        45009: "the robot sent more than 20 messages a minute; will retry",
        93000: "the webhook key is invalid or the robot was removed; copy its webhook URL again",
        40008: "WeCom did not accept the message type",
        40058: "WeCom refused a parameter (message too long?)",
    }

    @classmethod
    def check_url_shape(cls, parts) -> None:
        if not dict(parse_qsl(parts.query)).get("key"):
            raise OptionsError("webhook URL has no key parameter; copy the robot's full URL")

    def build(self, message: Message) -> list[dict]:
        blocks = []
        if message.title.strip():
            blocks.append(f"## {message.title.strip()}")
        blocks.append(message.text.strip())
        if message.footer.strip():
            blocks.append(f'<font color="comment">{message.footer.strip()}</font>')
        content = "\n\n".join(b for b in blocks if b)
        return [
            {"msgtype": "markdown", "markdown": {"content": part}}
            for part in split_text(content, MAX_CONTENT, utf8_bytes)
        ]
