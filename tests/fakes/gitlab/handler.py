"""The fake GitLab's HTTP side: reads a request, records it, sends what `Routes` answers.

HTTP/1.1 with keep-alive, ``Server: nginx`` and an ``X-Request-Id`` on every answer, as a
GitLab behind its bundled nginx sends them.
"""

from __future__ import annotations

import contextlib
import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes import base
from tests.fakes.gitlab.answers import Answer
from tests.fakes.gitlab.fixtures import sha


class RecordedRequest(base.RecordedRequest):
    """A request as sent: ``path`` still URL-encoded, without the query string."""

    @property
    def api_path(self) -> str:
        """The path after ``/api/v4`` (still encoded), e.g. ``/projects/1187/...``."""
        marker = "/api/v4"
        index = self.path.find(marker)
        return self.path[index + len(marker) :] if index >= 0 else self.path


class GitLabHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return

    def do_GET(self) -> None:
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def dispatch(self) -> None:
        fake = self.server.fake
        request = self.read_request()
        fake.record(request)
        answer = fake.answer(request, request.headers.get("host", ""))
        if fake.delay > 0 and fake.shutting_down.wait(fake.delay):
            self.close_connection = True
            return  # shutting down: hang up without answering
        self.send(answer)

    def read_request(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        parsed = None
        if raw and "json" in headers.get("content-type", ""):
            with contextlib.suppress(ValueError):
                parsed = json.loads(raw)
        return RecordedRequest(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=headers,
            json=parsed,
            raw_body=raw,
        )

    def send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("X-Request-Id", sha(f"{time.time_ns()}")[:26].upper())
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)
        self.wfile.flush()
