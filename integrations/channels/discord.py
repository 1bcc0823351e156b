"""Discord webhook (`https://discord.com/api/webhooks/<id>/<token>`).

We post with `?wait=true`: Discord then answers 200 with the created message
and reports a message that could not be saved as an error, whereas the
default 204 is sent before the message is stored. 204 is accepted too.

Errors are JSON `{"message": "...", "code": N}`: 400 Invalid Form Body,
401 Invalid Webhook Token, 403 Missing Access, 404 Unknown Webhook are
permanent; 429 carries `retry_after` (seconds) in the body and Retry-After in
the headers and is transient, like 5xx.

Size: `content` holds at most 2000 characters, so we SPLIT (Discord shows
consecutive webhook posts as one block; there is no bigger text field except
embeds, whose 4096-char description would lose the plain-message look).

`allowed_mentions: {"parse": []}` keeps LLM text such as "@everyone" from
pinging anybody.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .base import Message, OptionsError, Reply, Transport, encode_json, json_headers, parse_json
from .sizing import split_text

MAX_CONTENT = 2000


class DiscordTransport(Transport):
    kind = "discord"
    label = "Discord"
    options = {"username": str, "avatar_url": str}
    status_hints = {
        **Transport.status_hints,
        401: "the webhook token is invalid; check the webhook URL",
        403: "the webhook may not post in this channel",
        404: "the webhook was deleted; create a new one and update the URL",
    }

    @classmethod
    def check_url_shape(cls, parts) -> None:
        tail = parts.path.rstrip("/").rsplit("/", 1)[-1]
        if tail in ("slack", "github"):
            raise OptionsError(
                f"webhook URL ends with /{tail}; use the plain Discord webhook URL without it"
            )

    @classmethod
    def check_option_values(cls, options: dict) -> None:
        # Discord answers 400 for these, so say it when the recipient is saved.
        username = options.get("username", "")
        if len(username) > 80:
            raise OptionsError("option 'username' for discord must be at most 80 characters")
        if any(word in username.lower() for word in ("discord", "clyde")):
            raise OptionsError("option 'username' for discord may not contain 'discord' or 'clyde'")

    def build(self, message: Message) -> list[dict]:
        blocks = []
        if message.title.strip():
            blocks.append(f"**{message.title.strip()}**")
        blocks.append(message.text.strip())
        if message.footer.strip():
            blocks.append(f"_{message.footer.strip()}_")
        text = "\n\n".join(b for b in blocks if b)
        return [
            {"content": part, **self.opts, "allowed_mentions": {"parse": []}}
            for part in split_text(text, MAX_CONTENT)
        ]

    def prepare(self, payload: dict) -> tuple[str, dict[str, str], bytes]:
        parts = urlsplit(self.url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "wait"]
        query.append(("wait", "true"))
        url = urlunsplit(parts._replace(query=urlencode(query)))
        return url, json_headers(), encode_json(payload)

    def check(self, reply: Reply, headers: Mapping, text: str) -> None:
        if reply.status in (200, 204):
            return
        raise self.status_error(reply, headers, text)

    def retry_after(self, status: int, headers: Mapping, text: str) -> float | None:
        if status == 429:
            # The body's retry_after is precise (float seconds); the header is rounded up.
            data = parse_json(text)
            value = data.get("retry_after") if isinstance(data, dict) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return max(0.0, float(value))
        return super().retry_after(status, headers, text)
