"""Slack incoming webhook (`https://hooks.slack.com/services/T…/B…/…`).

Success is HTTP 200 with the plain-text body `ok`. Errors are plain-text codes
with a status (api.slack.com changelog 2016-05-17 "changes to errors for
incoming webhooks"): 400 invalid_payload / user_not_found / no_text,
403 action_prohibited / invalid_token, 404 channel_not_found / no_service,
410 channel_is_archived -- all permanent; 429 rate limited and 500
rollup_error are transient.

Size: Slack truncates `text` beyond 40,000 characters but asks clients to keep
messages under 4,000 for readability, so we SPLIT at 4,000 characters
(counted after conversion to mrkdwn, escapes included). Incoming webhooks
allow about one message per second; a 429 on a later part is retried by the
caller like any other transient error.

App-created webhooks post to a fixed channel as the app, so there are no
options (channel/username/icon overrides are ignored by Slack).
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import Message, Reply, Transport
from .markdown import escape_slack, to_slack
from .sizing import split_text

MAX_MESSAGE = 4000

_ERROR_HINTS = {
    "invalid_payload": "the message was malformed (a bug in dify-hub; please report it)",
    "user_not_found": "the user this webhook posts to is gone; create a new webhook",
    "no_text": "the message was empty",
    "invalid_token": "the webhook's token was revoked; create a new webhook",
    "action_prohibited": "an admin restricted posting to this channel",
    "no_service": "the webhook was removed or disabled; create a new one",
    "no_service_id": "the webhook URL is incomplete; paste it again",
    "no_team": "the workspace is gone; create a new webhook",
    "team_disabled": "the workspace is disabled",
    "channel_not_found": "the webhook's channel was deleted; create a new webhook",
    "channel_is_archived": "the webhook's channel is archived; unarchive it or create a new webhook",
}


class SlackTransport(Transport):
    kind = "slack"
    label = "Slack"
    options: dict[str, type] = {}

    def build(self, message: Message) -> list[dict]:
        blocks = []
        if message.title.strip():
            blocks.append(f"*{escape_slack(message.title.strip())}*")
        blocks.append(to_slack(message.text.strip()))
        if message.footer.strip():
            blocks.append(f"_{escape_slack(message.footer.strip())}_")
        text = "\n\n".join(b for b in blocks if b)
        return [{"text": part} for part in split_text(text, MAX_MESSAGE)]

    def check(self, reply: Reply, headers: Mapping, text: str) -> None:
        if reply.status == 200:
            if text.strip() == "ok":
                return
            raise self.error(
                "Slack answered 200 without 'ok'; the URL does not look like an incoming webhook",
                retryable=False,
                reply=reply,
            )
        raise self.status_error(reply, headers, text)

    def hint(self, status: int, text: str) -> str:
        return _ERROR_HINTS.get(text.strip()) or super().hint(status, text)
