"""Services that answer HTTP 200 and put the outcome in a JSON code.

Feishu (`code`), DingTalk and WeCom (`errcode`) report most failures -- bad
signature, keyword filter, IP allow-list, rate limit -- as HTTP 200 with a
non-zero code, so a status-only check would record false successes.

Each subclass lists the codes that are worth retrying; every other non-zero
code is treated as PERMANENT. That is deliberate: the documented codes are
overwhelmingly configuration errors, and an unknown code that really is
transient costs one failed delivery, while retrying a configuration error
would hammer a bot that is limited to ~20 messages a minute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from .base import Reply, Transport, parse_json, shorten


class CodedReplyTransport(Transport):
    code_key: ClassVar[str] = "errcode"
    message_key: ClassVar[str] = "errmsg"
    # code -> retry-after hint in seconds (None: no hint)
    transient_codes: ClassVar[dict[int, float | None]] = {}
    code_hints: ClassVar[dict[int, str]] = {}

    def check(self, reply: Reply, headers: Mapping, text: str) -> None:
        data = parse_json(text)
        code = data.get(self.code_key) if isinstance(data, dict) else None
        if isinstance(code, bool) or not isinstance(code, int):
            code = None
        if reply.status == 429 or reply.status >= 500:
            raise self.status_error(reply, headers, text)
        if code is None:
            if 200 <= reply.status < 300:
                raise self.error(
                    f"{self.label} answered {reply.status} without a result code; "
                    "the URL does not look like a bot webhook",
                    retryable=False,
                    reply=reply,
                )
            raise self.status_error(reply, headers, text)
        if code == 0 and 200 <= reply.status < 300:
            return
        raise self.code_error(code, data, reply)

    def code_error(self, code: int, data: dict, reply: Reply):
        detail = data.get(self.message_key) or data.get("msg") or ""
        message = f"{self.label} refused the message: code {code}"
        if isinstance(detail, str) and detail:
            message += f" ({shorten(detail)})"
        hint = self.code_hints.get(code, "")
        if hint:
            message += f": {hint}"
        transient = code in self.transient_codes
        return self.error(
            message,
            retryable=transient,
            reply=reply,
            retry_after=self.transient_codes.get(code),
        )
