"""A local ntfy server, as far as publishing goes: it takes `POST /<topic>` and answers like
ntfy does (tests/fixtures/ntfy/, sources in its README).

    with NtfyReceiver() as server:
        transport = NtfyTransport(server.url, {}, server.secret)
        server.answer("forbidden")            # the next request gets this preset
        ...
        request = server.requests[-1]
        request.text                          # the message body
        published_header(request, "X-Title")  # a header as ntfy reads it (RFC 2047 decoded)

Standalone: `python -m tests.fakes.chat_server --kind ntfy`.
"""

from __future__ import annotations

from email.header import decode_header, make_header
from pathlib import Path

from tests.fakes.chat_server import ChatServer, Received

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ntfy"

# The headers dify-hub publishes with (docs/publish.md "List of all parameters").
PUBLISH_HEADERS = ("X-Title", "X-Priority", "X-Tags", "X-Markdown", "X-Click", "X-Icon")


class NtfyReceiver(ChatServer):
    kind = "ntfy"
    topic = "dify-hub-family-alerts"
    path = f"/{topic}"
    query = ""
    fixtures = FIXTURES
    # The example token of docs/publish.md "Access tokens".
    secret = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"
    options: dict = {}  # ntfy needs none
    presets = {
        "success": "success",
        "unauthorized": "unauthorized",
        "forbidden": "forbidden",
        "invalid_priority": "invalid_priority",
        "attachments_disallowed": "attachments_disallowed",
        "attachment_too_large": "attachment_too_large",
        "rate_limited": "rate_limited",
        "daily_quota": "daily_quota",
        "auth_failures": "auth_failures",
        "unifiedpush_no_subscriber": "unifiedpush_no_subscriber",
        "server_error": "server_error",
    }

    @property
    def secrets(self) -> list[str]:
        """The topic too: on a public server, knowing it is enough to read along."""
        pieces = super().secrets
        return pieces if self.topic in pieces else [*pieces, self.topic]


def published_header(request: Received, name: str) -> str | None:
    """A header as the ntfy server reads it: RFC 2047 encoded-words decoded
    (server/util.go maybeDecodeHeader does it with Go's mime.WordDecoder)."""
    value = request.header(name)
    if value is None:
        return None
    return str(make_header(decode_header(value)))


def published(request: Received) -> dict:
    """What a request published, in the transport's part shape: decoded headers and body."""
    headers = {n: published_header(request, n) for n in PUBLISH_HEADERS if request.header(n)}
    return {"headers": headers, "body": request.text}
