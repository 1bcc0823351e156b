"""Rocket.Chat incoming webhook (`https://<host>/hooks/<id>/<token>`).

Success is HTTP 200 with `{"success": true}` (Rocket.Chat's API helper adds it
to every success answer, also when an integration script answers). Failures
come as `{"success": false, "error": "..."}` (see RocketChat/Rocket.Chat
apps/meteor/app/integrations/server/api/api.ts and api/server/ApiClass.ts).

Size: the server setting Message_MaxAllowedSize defaults to 5000 and is
checked against the JavaScript string length, so we count UTF-16 units. Longer
messages are SPLIT into several posts: Rocket.Chat posts them one after the
other in the room, while over-long text would be turned into a file
attachment (Message_AllowConvertLongMessagesToAttachment) or refused.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from .base import Message, Reply, Transport, parse_json
from .markdown import to_single_star
from .sizing import split_text, utf16_units

MAX_MESSAGE = 5000  # Message_MaxAllowedSize default, in JS string length


class RocketChatTransport(Transport):
    kind = "rocketchat"
    label = "Rocket.Chat"
    options = {"alias": str, "avatar": str, "channel": str, "emoji": str}
    status_hints = {
        **Transport.status_hints,
        400: "Rocket.Chat refused the message",
        401: "the integration id or token was refused; check the webhook URL",
        403: "the integration id or token was refused; check the webhook URL",
        404: "no incoming webhook at this URL; check the webhook URL",
    }

    def build(self, message: Message) -> list[dict]:
        blocks = []
        if message.title.strip():
            blocks.append(f"*{message.title.strip()}*")
        blocks.append(to_single_star(message.text.strip()))
        if message.footer.strip():
            blocks.append(f"_{message.footer.strip()}_")
        text = "\n\n".join(b for b in blocks if b)
        return [{"text": part, **self.opts} for part in split_text(text, MAX_MESSAGE, utf16_units)]

    def check(self, reply: Reply, headers: Mapping, text: str) -> None:
        data = parse_json(text)
        if reply.status == 200:
            if isinstance(data, dict) and data.get("success") is True:
                return
            # A 200 without success:true is not Rocket.Chat's webhook API (a
            # login page, a proxy) -- sending again will not change that.
            raise self.error(
                "Rocket.Chat answered 200 without success:true; the URL does not look like "
                "an incoming webhook",
                retryable=False,
                reply=reply,
            )
        raise self.status_error(reply, headers, text)

    def is_retryable(self, status: int, text: str) -> bool:
        if status == 503:
            # Rocket.Chat answers 503 {"success":false,"error":"Service Unavailable"}
            # when the integration is disabled: an admin must re-enable it, so
            # retrying is useless. A 503 without that JSON comes from a proxy
            # or a restarting server and is worth retrying.
            return not _is_rocketchat_failure(text)
        if "Invalid integration id or token" in text:
            return False  # some versions answer a bad token with 500
        return super().is_retryable(status, text)

    def hint(self, status: int, text: str) -> str:
        if status == 503 and _is_rocketchat_failure(text):
            return "the incoming webhook is disabled in Rocket.Chat administration"
        return super().hint(status, text)

    def retry_after(self, status: int, headers: Mapping, text: str) -> float | None:
        value = super().retry_after(status, headers, text)
        if value is None and status == 429:
            # Rocket.Chat's rate limiter sends X-RateLimit-Reset (epoch ms), not Retry-After.
            try:
                reset_ms = float(headers.get("X-RateLimit-Reset", ""))
            except ValueError:
                return None
            return max(0.0, reset_ms / 1000 - time.time())
        return value


def _is_rocketchat_failure(text: str) -> bool:
    data = parse_json(text)
    return isinstance(data, dict) and data.get("success") is False
