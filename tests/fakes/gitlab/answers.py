"""What the fake GitLab sends back: an `Answer` (status, headers, body bytes), the errors a
route raises to answer early, and the answers tests script with ``fail_next``/``replay``."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from tests.fakes.gitlab.fixtures import encode_body, fixture_answer, relative_headers

# GitLab's own 404 page for paths outside /api/v4 (served by Rails, not Grape)
HTML_404 = (
    b"<!DOCTYPE html>\n<html>\n<head>\n  <title>The page you're looking for could not be found "
    b"(404)</title>\n</head>\n<body>\n  <h1>404</h1>\n  <h3>Page not found</h3>\n</body>\n</html>\n"
)

# fail_next(status) without a body answers with GitLab's real body for that status
STATUS_FIXTURES = {
    400: "error_400",
    401: "error_401",
    403: "error_403",
    404: "error_404_project",
    429: "error_429",
    500: "error_500",
    502: "error_502",
    503: "error_503",
}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


class GitLabError(Exception):
    """Raised inside a route to answer with an error."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer


def json_answer(status: int, body: Any, headers: dict | None = None) -> Answer:
    """A JSON answer with the headers GitLab puts on every API answer."""
    out = {
        "Content-Type": "application/json",
        "Cache-Control": "max-age=0, private, must-revalidate",
    }
    out.update(headers or {})
    return Answer(status, out, encode_body(body))


def fixture_error(name: str) -> GitLabError:
    return GitLabError(Answer(*fixture_answer(name)))


def bad_request(body: Any) -> GitLabError:
    return GitLabError(json_answer(400, body))


@dataclass
class Scripted:
    """An answer a test asked for, given to the next ``remaining`` matching requests."""

    method: str | None
    pattern: str | re.Pattern
    status: int
    remaining: int
    body: Any = None
    headers: dict | None = None
    retry_after: float | None = None
    content_type: str | None = None
    fixture: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method not in (None, "*") and self.method.upper() != method:
            return False
        candidates = (path, unquote(path))
        if isinstance(self.pattern, re.Pattern):
            return any(self.pattern.search(c) for c in candidates)
        return any(c.endswith(self.pattern) for c in candidates)

    def answer(self) -> Answer:
        now = time.time()
        if self.fixture is not None:
            return Answer(*fixture_answer(self.fixture, now))
        if self.body is not None:
            headers = {"Content-Type": _guess_type(self.body)}
            raw = encode_body(self.body)
        elif self.status in STATUS_FIXTURES:
            _, headers, raw = fixture_answer(STATUS_FIXTURES[self.status], now)
        else:
            message = f"{self.status} {_phrase(self.status)}".strip()
            headers, raw = {"Content-Type": "application/json"}, encode_body({"message": message})
        if self.retry_after is not None:
            wait = self.retry_after
            headers["Retry-After"] = f"{wait:g}"
            headers.update(
                relative_headers({"RateLimit-Reset": wait, "RateLimit-ResetTime": wait}, now)
            )
        for name, value in (self.headers or {}).items():
            for existing in [k for k in headers if k.lower() == name.lower()]:
                del headers[existing]
            if value is not None:
                headers[name] = str(value)
        if self.content_type:
            headers["Content-Type"] = self.content_type
        return Answer(self.status, headers, raw)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _guess_type(body: Any) -> str:
    if not isinstance(body, str | bytes):
        return "application/json"
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return "text/html; charset=utf-8" if text.lstrip().startswith("<") else "text/plain"
