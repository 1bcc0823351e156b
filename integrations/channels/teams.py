"""Microsoft Teams via a Workflows (Power Automate) webhook.

The old Office 365 connector webhooks are retired; Workflows URLs live on
*.logic.azure.com / *.powerautomate.com / *.powerplatform.com and take a
`message` envelope around an Adaptive Card. They answer 202 Accepted (200 on
some tenants) before the flow has run, so success only means "accepted".

Errors are JSON `{"error": {"code": "...", "message": "..."}}`: 400 (schema
mismatch), 401/403 (bad or expired signature in the URL), 404 (flow deleted),
413 (too large) are permanent; 429 and 5xx are transient.

Size: about 28 KB per message. We TRUNCATE the body text with a visible
marker instead of splitting: the flow runs asynchronously, so several posts
can arrive out of order, and each would repeat the card's header.

Dialect: TextBlock markdown knows **bold**, _italic_, lists and links but no
headings, so headings become bold lines.
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import Message, Reply, Transport, encode_json
from .markdown import headings_to_bold
from .sizing import json_utf8_bytes, truncate_text

MAX_BODY = 27 * 1024  # bytes of JSON; the documented limit is ~28 KB


class TeamsTransport(Transport):
    kind = "teams"
    label = "Microsoft Teams"
    options = {"full_width": bool}
    status_hints = {
        **Transport.status_hints,
        400: "the workflow rejected the card; the flow must use the 'Send webhook alerts to a channel' template",
        401: "the workflow URL's signature was refused; copy the URL again from the workflow",
        403: "the workflow URL's signature was refused; copy the URL again from the workflow",
        404: "the workflow was deleted or turned off; create it again and update the URL",
    }

    def build(self, message: Message) -> list[dict]:
        text = headings_to_bold(message.text.strip())
        overhead = len(
            encode_json(self._payload(message.title.strip(), "", message.footer.strip()))
        )
        text = truncate_text(text, MAX_BODY - overhead, json_utf8_bytes)
        return [self._payload(message.title.strip(), text, message.footer.strip())]

    def _payload(self, title: str, text: str, footer: str) -> dict:
        body: list[dict] = []
        if title:
            body.append(
                {
                    "type": "TextBlock",
                    "text": title,
                    "weight": "Bolder",
                    "size": "Medium",
                    "wrap": True,
                }
            )
        body.append({"type": "TextBlock", "text": text, "wrap": True})
        if footer:
            body.append(
                {
                    "type": "TextBlock",
                    "text": footer,
                    "isSubtle": True,
                    "size": "Small",
                    "wrap": True,
                }
            )
        card: dict = {
            "type": "AdaptiveCard",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": "1.4",
            "body": body,
        }
        if self.opts.get("full_width", True):
            card["msteams"] = {"width": "Full"}
        return {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
            ],
        }

    def check(self, reply: Reply, headers: Mapping, text: str) -> None:
        if reply.status in (200, 202):
            return
        raise self.status_error(reply, headers, text)
