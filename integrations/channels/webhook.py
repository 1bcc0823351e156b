"""Generic JSON webhook, optionally signed the Standard Webhooks way.

Default body:
    {"title": ..., "text": ..., "footer": ..., "sent_at": "2026-01-01T08:00:00+00:00"}

`body_template` replaces it with the user's JSON, where $TITLE, $TEXT,
$FOOTER and $SENT_AT are replaced by JSON-escaped string content -- so they
go inside quotes and can be combined: {"content": "**$TITLE**\\n$TEXT"}.
`clean_options` renders the template with awkward sample values and insists
the result is valid JSON.

A part is {"webhook_id": "msg_…", "body": "<JSON text with $SENT_AT still in
it>"}. build() picks the id, so every retry of the same part carries the same
`webhook-id` header and receivers can drop duplicates; post() fills in
$SENT_AT and signs at send time.

Signing (optional secret; https://github.com/standard-webhooks/standard-webhooks, computed
by integrations/http/signatures.py with the specification's reference library):
headers webhook-id, webhook-timestamp (unix seconds) and webhook-signature
"v1,<base64 HMAC-SHA256 over f'{id}.{timestamp}.{body}'>". A secret written
as "whsec_<base64>" is base64-decoded first, otherwise its UTF-8 bytes are
the key. webhook-id and webhook-timestamp are sent even without a secret.

Success is any 2xx; 408, 425, 429 and 5xx are transient; redirects and other
4xx are permanent. There is no size limit and no splitting.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime

from integrations.http.signatures import sign, signing_key

from .base import USER_AGENT, Message, OptionsError, Transport

DEFAULT_TEMPLATE = '{"title":"$TITLE","text":"$TEXT","footer":"$FOOTER","sent_at":"$SENT_AT"}'
PLACEHOLDER = re.compile(r"\$(TITLE|TEXT|FOOTER|SENT_AT)\b")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_RESERVED_HEADERS = {
    "content-length",
    "host",
    "transfer-encoding",
    "connection",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
}
_SAMPLE = 'a "quoted" \\ back\nslash – 雨 $TEXT'


class WebhookTransport(Transport):
    kind = "webhook"
    label = "Webhook"
    options = {"body_template": str, "headers": dict}
    needs_secret = True

    @classmethod
    def check_option_values(cls, options: dict) -> None:
        template = options.get("body_template")
        if template is not None:
            rendered = render(template, _SAMPLE, _SAMPLE, _SAMPLE)
            try:
                json.loads(fill_sent_at(rendered, "2026-01-01T00:00:00+00:00"))
            except ValueError as exc:
                raise OptionsError(
                    f"option 'body_template' for webhook is not valid JSON once filled in ({exc}); "
                    'put placeholders inside quotes, e.g. {"text": "$TEXT"}'
                ) from None
        for name, value in (options.get("headers") or {}).items():
            if not isinstance(name, str) or not _HEADER_NAME.match(name):
                raise OptionsError(
                    f"option 'headers' for webhook has an invalid header name {name!r}"
                )
            if name.lower() in _RESERVED_HEADERS:
                raise OptionsError(f"option 'headers' for webhook may not set {name}")
            if not isinstance(value, str) or "\r" in value or "\n" in value:
                raise OptionsError(
                    f"option 'headers' for webhook: the value of {name} must be a single-line string"
                )

    @classmethod
    def clean_secret(cls, secret: str) -> str:
        secret = super().clean_secret(secret)
        if secret:
            _checked_key(secret)  # raises OptionsError for a broken whsec_ value
        return secret

    def build(self, message: Message) -> list[dict]:
        template = self.opts.get("body_template", DEFAULT_TEMPLATE)
        body = render(template, message.title.strip(), message.text.strip(), message.footer.strip())
        return [{"webhook_id": f"msg_{uuid.uuid4().hex}", "body": body}]

    def prepare(self, payload: dict) -> tuple[str, dict[str, str], bytes]:
        webhook_id = payload["webhook_id"]
        timestamp = str(int(time.time()))
        sent_at = datetime.fromtimestamp(int(timestamp), UTC).isoformat()
        body = fill_sent_at(payload["body"], sent_at).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            **self.opts.get("headers", {}),
            "webhook-id": webhook_id,
            "webhook-timestamp": timestamp,
        }
        if self.secret:
            headers["webhook-signature"] = sign(
                _checked_key(self.secret), webhook_id, timestamp, body
            )
        return self.url, headers, body


def render(template: str, title: str, text: str, footer: str) -> str:
    """Fill $TITLE/$TEXT/$FOOTER in one pass; $SENT_AT is left for send time.

    "$" inside values is written as \\u0024, so text that happens to contain
    "$SENT_AT" cannot be mistaken for the placeholder later.
    """
    values = {"TITLE": title, "TEXT": text, "FOOTER": footer}

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name == "SENT_AT":
            return match.group(0)
        return json.dumps(values[name], ensure_ascii=False)[1:-1].replace("$", "\\u0024")

    return PLACEHOLDER.sub(fill, template)


def fill_sent_at(body: str, sent_at: str) -> str:
    return PLACEHOLDER.sub(lambda m: sent_at if m.group(1) == "SENT_AT" else m.group(0), body)


def _checked_key(secret: str) -> bytes:
    try:
        return signing_key(secret)
    except ValueError as exc:
        raise OptionsError(str(exc)) from None
