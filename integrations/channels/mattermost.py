"""Mattermost incoming webhook (`https://<host>/hooks/<id>`).

Success is HTTP 200, `text/plain` body `ok` (mattermost server
channels/web/webhook.go). Errors are AppError JSON
`{"id": "...", "message": "...", "status_code": N, ...}`.

Dialect: Mattermost renders standard markdown (**bold**, headings, tables,
fenced code), so the LLM's text is sent unchanged.

Size: servers >= 5.0 accept 16383 characters per post and split longer
webhook text into consecutive posts themselves. We SPLIT at that limit
ourselves anyway, because the server cuts at a fixed character count (inside
a code block or a link) while we cut at paragraphs and re-open code fences.

Options need "integrations can override usernames / profile picture icons"
enabled by an admin; otherwise Mattermost ignores them.
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import Message, Reply, Transport
from .sizing import split_text

MAX_POST = 16383  # characters (Go rune count)


class MattermostTransport(Transport):
    kind = "mattermost"
    label = "Mattermost"
    options = {"channel": str, "username": str, "icon_url": str, "icon_emoji": str}
    status_hints = {
        **Transport.status_hints,
        400: "Mattermost refused the message (invalid or deleted webhook?)",
        404: "the webhook or its channel was not found; check the webhook URL",
        501: "incoming webhooks are disabled on this Mattermost server",
    }

    def build(self, message: Message) -> list[dict]:
        blocks = []
        if message.title.strip():
            blocks.append(f"#### {message.title.strip()}")
        blocks.append(message.text.strip())
        if message.footer.strip():
            blocks.append(f"_{message.footer.strip()}_")
        text = "\n\n".join(b for b in blocks if b)
        return [{"text": part, **self.opts} for part in split_text(text, MAX_POST)]

    def check(self, reply: Reply, headers: Mapping, text: str) -> None:
        if reply.status == 200:
            if text.strip() == "ok":
                return
            raise self.error(
                "Mattermost answered 200 without 'ok'; the URL does not look like an incoming webhook",
                retryable=False,
                reply=reply,
            )
        raise self.status_error(reply, headers, text)

    def is_retryable(self, status: int, text: str) -> bool:
        if status == 501:
            return False  # "incoming webhooks have been disabled by the system admin"
        return super().is_retryable(status, text)
